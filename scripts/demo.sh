#!/usr/bin/env bash
# The main command: install everything (scripts/bootstrap.sh), then run the end-to-end job
# (`samd demo`) on the embedded defaults: local MLflow store, generated example data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
exec .venv/bin/samd demo "$@"
