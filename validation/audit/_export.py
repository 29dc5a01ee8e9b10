"""Human-readable CSV copy of an audit trail (formula-safe, OWASP CSV injection)."""

from __future__ import annotations

import json
import os
from typing import Any

from validation.audit._records import iter_records
from validation.spreadsheet import write_safe_csv

__all__ = ["EXPORT_COLUMNS", "export_audit_csv"]

#: Columns of `export_audit_csv`, in order.
EXPORT_COLUMNS = ("seq", "ts_utc", "user_id", "auth_method", "action", "object", "object_sha256",
                  "reason", "signature_meaning", "key_id", "signed", "hash", "object_id", "printed_name")


def _row(r: dict[str, Any]) -> list[Any]:
    actor = r.get("actor") if isinstance(r.get("actor"), dict) else {}
    obj = r.get("object")
    ctx = r.get("context") if isinstance(r.get("context"), dict) else {}
    signer = ctx.get("signer") if isinstance(ctx.get("signer"), dict) else {}
    return [r.get("seq"), r.get("ts_utc"), actor.get("user_id", ""), actor.get("auth_method", ""),
            r.get("action"), json.dumps(obj, sort_keys=True, ensure_ascii=False), r.get("object_sha256") or "",
            r.get("reason") or "", r.get("signature_meaning") or "", r.get("key_id") or "",
            "yes" if r.get("sig") else "no", r.get("hash"),
            str(obj.get("id", "")) if isinstance(obj, dict) else (obj if isinstance(obj, str) else ""),
            signer.get("name", "")]


def export_audit_csv(log: str | os.PathLike[str], csv_path: str | os.PathLike[str]) -> int:
    """Write the trail as CSV (`EXPORT_COLUMNS`), every text cell formula-safe; return the row count.

    The CSV is a convenience copy for people: cells that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``, ...) get a leading apostrophe (`validation.spreadsheet`). The
    audit log itself keeps the raw values.

    Raises
    ------
    AuditError
        A line of the log is unreadable (its line number is named); nothing is written then.
    """
    rows = [_row(r) for r in iter_records(log)]
    write_safe_csv(csv_path, EXPORT_COLUMNS, rows)
    return len(rows)
