#!/usr/bin/env bash
# The light install: a fresh venv, `pip install .` (non-editable), timed; its size; no TensorFlow in it; the
# main job runs and `phosnet train` names the extra. One command, from the repository root:
#     bash benchmarks/install/run.sh [VENV_DIR]
# Run it twice: the first run fills pip's cache (downloads), the second measures an install from the cache.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${1:-/tmp/phosnet-lightvenv}"
root="$PWD"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "python:  $("$venv/bin/python" --version), $("$venv/bin/pip" --version | cut -d' ' -f1-2)"
# wall time, and CPU time (user + sys of pip and its children: the fairer number on a shared machine)
/usr/bin/time -f "pip install . : %e s wall, %U s user + %S s sys CPU" -o /tmp/phosnet-light-install.time \
    "$venv/bin/pip" install --quiet . 2>/dev/null
cat /tmp/phosnet-light-install.time
echo "venv size:      $(du -sh "$venv" | cut -f1)"
if "$venv/bin/pip" list 2>/dev/null | grep -i -E '^(tensorflow|keras) '; then
    echo "FAIL: TensorFlow/Keras installed"; exit 1
fi
echo "tensorflow/keras installed: no"
rows=$(cd /tmp && "$venv/bin/phosnet" scan "$root/phosnet/examples/akt_substrates.fasta" | wc -l)
echo "phosnet scan phosnet/examples/akt_substrates.fasta: $rows lines"
if (cd /tmp && "$venv/bin/phosnet" train "$root/tests/data/train/sites.tsv" "$root/tests/data/train/proteins.fasta" \
        --out-dir /tmp/phosnet-light-train-run) 2>/tmp/phosnet-light-train.err; then
    echo "FAIL: phosnet train ran without TensorFlow"; exit 1
fi
echo "phosnet train: $(cat /tmp/phosnet-light-train.err)"
