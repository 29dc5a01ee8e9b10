#!/usr/bin/env bash
# The test command: install everything (scripts/bootstrap.sh), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
exec .venv/bin/python -m pytest -n 2 --timeout=900 "$@"
