"""A people-facing summary of a validation result (rounded; ``result.json`` keeps full precision)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_summary", "population_line"]


def population_line(population: dict[str, Any], undefined: dict[str, Any] | None = None) -> str:
    """One sentence on an estimate's analysis population, e.g. ``n = 107 analysed of 133 eligible;
    26 excluded: empty prediction, hd95 undefined (rule: exclude)``.

    Parameters
    ----------
    population : dict
        The ``population`` block of an endpoint or subgroup estimate in ``result.json``.
    undefined : dict, optional
        The estimate's ``undefined`` record (rule and cases touched); an imputing rule that
        touched cases is stated.
    """
    p = population
    text = f"n = {p['n_analysed']} analysed of {p['n_eligible']} eligible"
    if p.get("n_excluded"):
        exc = p.get("exclusions", [])
        why = exc[0]["reason"] if len(exc) == 1 else "; ".join(f"{x['n']} {x['reason']}" for x in exc)
        text += f"; {p['n_excluded']} excluded: {why}"
    else:
        text += "; none excluded"
    if undefined and undefined.get("rule") != "exclude" and undefined.get("n"):
        shown = undefined.get("imputed", undefined.get("value"))
        text += f"; {undefined['n']} undefined value(s) imputed (rule: {undefined['rule']}, {shown})"
    return text


def _num(x: Any, digits: int) -> str:
    """``x`` with ``digits`` decimals; strict-JSON non-finite strings ("nan", "inf") as written."""
    if isinstance(x, str):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    v = float(x)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.{digits}f}"


def format_summary(result: dict[str, Any], *, digits: int = 3) -> str:
    """Lines for a console: protocol, one line per endpoint, warnings, verdict.

    Parameters
    ----------
    result : dict
        The ``result.json`` mapping (`ValidationOutcome.result`).
    digits : int
        Decimals shown for estimates and interval bounds (default 3).

    Returns
    -------
    str
        Newline-separated text without a trailing newline. Numbers are rounded for reading only.

    Examples
    --------
    >>> r = {"protocol_id": "SAP-1", "protocol_version": 1, "protocol_sha256": "ab" * 32, "n_cases": 120,
    ...      "mlflow_run_id": "r1", "verdict": "pass", "warnings": [], "endpoints": [
    ...      {"id": "auc", "metric": "roc_auc", "value": 0.8312345, "ci_low": 0.75, "ci_high": 0.9011,
    ...       "method": "delong", "criterion": "ci_low >= 0.7", "passed": True}]}
    >>> print(format_summary(r))
    protocol SAP-1 v1 (abababababab…), 120 cases, MLflow run r1
      auc                  roc_auc      0.831 [0.750, 0.901] delong  ci_low >= 0.7: PASS
    verdict: pass
    """
    lines = [f"protocol {result['protocol_id']} v{result['protocol_version']} ({result['protocol_sha256'][:12]}…), "
             f"{result['n_cases']} cases, MLflow run {result['mlflow_run_id']}"]
    for e in result["endpoints"]:
        if e.get("reached") is False:  # sensitivity at an FP rate the FROC curve never attains
            shown = f"not reached (highest FP rate reached: {_num(e.get('fp_rate_reached'), digits)})"
        else:
            shown = f"{_num(e['value'], digits)} [{_num(e['ci_low'], digits)}, {_num(e['ci_high'], digits)}]"
        lines.append(f"  {e['id']:<20} {e['metric']:<12} {shown} {e['method']}  "
                     f"{e['criterion']}: {'PASS' if e['passed'] else 'FAIL'}")
        if isinstance(e.get("population"), dict):
            lines.append(f"  {'':<20} {population_line(e['population'], e.get('undefined'))}")
    lines += [f"warning: {w}" for w in result.get("warnings", [])]
    lines.append(f"verdict: {result['verdict']}")
    return "\n".join(lines)
