#!/usr/bin/env bash
# Create .venv/ at the repository root and install samd from requirements.lock (hash-checked),
# plus the Debian packages the tests and reports need. Idempotent: re-running skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APT_PKGS=(dicom3tools dcmtk r-base-core r-cran-proc r-cran-epir r-cran-vcd r-cran-psych
          invesalius-examples poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for p in "${APT_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "[samd] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    :
  else
    echo "[samd] warning: could not install ${missing[*]}; tests that need them will be skipped" >&2
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[samd] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.samd-lock-sha256
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[samd] installing requirements.lock (hash-checked) into .venv"
  .venv/bin/python -m pip install -q --require-hashes -r requirements.lock 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
  .venv/bin/python -m pip check >/dev/null 2>&1 || .venv/bin/python -m pip check | grep -v "^No broken" >&2 || true
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
  echo "$want" > "$stamp"
fi
.venv/bin/python -c "import samd_core, validation, clinical_eval, risk, reference_devices" 
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
