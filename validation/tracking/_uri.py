"""Tracking-URI resolution and MLflow process settings (telemetry off)."""

from __future__ import annotations

import os
from pathlib import Path

from validation.errors import InvalidParameterError

__all__ = ["artifact_root_for", "disable_telemetry", "resolve_tracking_uri"]


def disable_telemetry() -> None:
    """Turn MLflow's usage telemetry off unless the user set the variable explicitly."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI to use: argument, else ``MLFLOW_TRACKING_URI``, else a local store.

    The local default is ``sqlite:///<absolute cwd>/mlflow.db`` (no server needed); its
    artifacts go to ``<cwd>/mlartifacts`` (see `artifact_root_for`). A relative path in a
    ``sqlite:///`` URI is made absolute against the current directory.
    """
    if tracking_uri is not None and not tracking_uri.strip():
        raise InvalidParameterError("tracking_uri", "resolve_tracking_uri", "a non-empty MLflow tracking URI",
                                    tracking_uri)
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not uri:
        return "sqlite:///" + str(Path.cwd().resolve() / "mlflow.db")
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str((Path.cwd() / uri[len("sqlite:///") :]).resolve())
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite://") :]).parent.is_dir():
        raise InvalidParameterError("tracking_uri", "resolve_tracking_uri",
                                    "a sqlite URI whose folder exists", tracking_uri or uri)
    return uri


def artifact_root_for(tracking_uri: str) -> str | None:
    """Artifact root for a new experiment: ``file://<db folder>/mlartifacts`` for sqlite.

    None for server URIs (the server's ``--default-artifact-root`` applies).
    """
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///") :])
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None
