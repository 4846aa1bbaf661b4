#!/usr/bin/env bash
# Downloads into .whl/ (git-ignored) the wheels that benchmarks/gpu.sh installs on a lent GPU machine
# (benchmarks/README.md, "GPU checks"): the pure-Python and small binary packages of the GPU checks'
# import path that the machine's image lacks (or has at another version), at the versions of the
# Python that runs this script (default .venv/bin/python, the one the project is tested with), for
# CPython 3.12 on x86-64 Linux. The machine already has JAX with CUDA, NumPy, pandas, pyarrow,
# scikit-learn, SciPy, matplotlib, PyYAML, requests, ... (/work/.library/device/KINDS.md); it has no
# TensorFlow, and none is needed.
#   PYTHON=/path/to/venv/bin/python benchmarks/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
packages=(
  keras namex optree                                      # Keras 3 (its JAX backend)
  hydra-core omegaconf                                    # config composition
  mlflow-skinny mlflow-tracing sqlalchemy alembic mako    # MLflow runs on a SQLite store (no UI: mlflow itself is 30 MB of it)
  cryptography cffi cachetools databricks-sdk fastapi starlette sqlparse importlib-metadata
  opentelemetry-api opentelemetry-sdk opentelemetry-proto opentelemetry-semantic-conventions protobuf
  pydantic pydantic-core annotated-types typing-inspection typing-extensions
  isal                                                    # HIGGS: ISA-L gzip inflate
)
pinned() {  # NAME==VERSION for each name, as installed in $python
  "$python" -c 'import sys; from importlib.metadata import version; print(*(f"{n}=={version(n)}" for n in sys.argv[1:]))' "$@"
}
rm -rf .whl
mkdir .whl
# shellcheck disable=SC2046  # one word per requirement
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl $(pinned "${packages[@]}")
# hydra-core's antlr4-python3-runtime 4.9.* is published as source only: build its pure-Python wheel here.
"$python" -m pip wheel -q --no-deps -w .whl "$(pinned antlr4-python3-runtime)"
ls .whl
du -sh .whl
