#!/usr/bin/env bash
# Create an isolated virtual environment for the Kinase Library baseline.
# kinase-library pins old numpy/pandas, so it cannot share /work/venv (phosnet's env).
# Usage (from anywhere):  bash benchmarks/kinase_library/setup_env.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3.11}"
KL_VERSION="${KL_VERSION:-1.8.0}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "kinase-library==$KL_VERSION" \
    || "$VENV/bin/python" -m pip install --quiet kinase-library
"$VENV/bin/python" -c "import kinase_library, importlib.metadata as m; print('kinase-library', m.version('kinase-library'), 'installed in $VENV')"
