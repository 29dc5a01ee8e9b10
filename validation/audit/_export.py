"""Human-readable CSV export of an audit trail (spreadsheet-safe)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from validation.audit._verify import iter_records, verify_audit_log
from validation.errors import AuditError
from validation.spreadsheet import write_safe_csv

__all__ = ["EXPORT_COLUMNS", "export_csv"]

#: Columns of `export_csv`, in order.
EXPORT_COLUMNS = ("seq", "ts_utc", "user_id", "auth_method", "action", "object", "object_sha256",
                  "reason", "signature_meaning", "key_id", "signed", "hash")


def export_csv(path: str | os.PathLike[str], csv_out: str | os.PathLike[str]) -> int:
    """Write the records of the audit log ``path`` as CSV to ``csv_out``; return the record count.

    The log is verified first (hash chain, canonical encoding): a log that does not verify is
    not exported, because a spreadsheet of it would look like a trustworthy record. Every text
    cell goes through `validation.spreadsheet.safe_cell` (OWASP CSV injection); the log itself
    keeps the raw values.

    Parameters
    ----------
    path
        The audit log (JSON Lines).
    csv_out
        The CSV file to write (overwritten).

    Returns
    -------
    int
        Number of records written.

    Raises
    ------
    AuditError
        The log is empty or does not verify (the message names the first bad record).
    """
    if Path(path).stat().st_size == 0:
        raise AuditError(f"audit log {Path(path).name} is empty: nothing to export")
    res = verify_audit_log(path)
    if not res.ok:
        raise AuditError(f"audit log {Path(path).name} does not verify, not exported: {res.message} "
                         f"(first bad seq: {res.first_bad_seq})")
    rows = [
        [r["seq"], r["ts_utc"], r["actor"]["user_id"], r["actor"]["auth_method"], r["action"],
         json.dumps(r["object"], sort_keys=True), r.get("object_sha256") or "", r.get("reason") or "",
         r.get("signature_meaning") or "", r.get("key_id") or "", "yes" if r.get("sig") else "no", r["hash"]]
        for r in iter_records(path)
    ]
    write_safe_csv(csv_out, EXPORT_COLUMNS, rows)
    return len(rows)
