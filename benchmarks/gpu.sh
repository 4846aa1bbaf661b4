#!/usr/bin/env bash
# The GPU checks (benchmarks/gpu_checks.py, on Keras' JAX backend) as one command for a lent GPU
# machine (benchmarks/README.md, "GPU checks"). When this Python lacks Keras, MLflow or Hydra, it
# first installs the wheels of .whl/ (benchmarks/gpu_wheels.sh downloads them) into a folder of
# its own. With $OUT set (the device machine), the section is recorded into RESULTS.md there, and
# RESULTS.md and the log are copied to $OUT. Arguments go to gpu_checks.py, e.g. --quick.
#   benchmarks/gpu.sh [--quick] [--batch-sizes 4096,65536] [--override trainer.precision=mixed_bfloat16]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import keras, mlflow, hydra' 2>/dev/null; then
  site=${TMPDIR:-/tmp}/gpu_checks_site
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl
  export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
log=${OUT:-${TMPDIR:-/tmp}}/gpu_checks.log
status=0
"$python" benchmarks/gpu_checks.py ${OUT:+--record} "$@" 2>&1 | tee "$log" || status=$?
if [ -n "${OUT:-}" ]; then
  cp benchmarks/RESULTS.md "$OUT/RESULTS.md"
fi
echo "log: $log"
exit "$status"
