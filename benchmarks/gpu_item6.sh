#!/usr/bin/env bash
# Issue 17, item 6, on a GPU machine: per-layer latency against height measured on the GPU.
#
# Profiles VGG-16 (224x224, batch 1, granularity 1: every height of every layer) on the GPU
# in FP16 (the paper's TensorRT precision, here PyTorch eager) and FP32, five timed runs per
# point after one warm-up, a synchronisation ending each, then prints how far each table is
# from linear in the height (benchmarks/bench_spatial_shape.py) beside the presets. The two
# tables land in $OUT; Tables I-II are then rerun on this machine (no GPU needed):
#
#   splitexit distredge experiment table1 --out docs/spatial/gpu --gpu-shape T.json
#   splitexit distredge experiment table2 --out docs/spatial/gpu --gpu-shape T.json
#
# On the device machine of this workplace: python3 there has torch, numpy, PyYAML, typer,
# rich and scikit-learn, not pydantic. Carry pydantic as wheels (Python 3.12) in .whl
# (ignored through .git/info/exclude), e.g.
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 -d .whl \
#     pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
# and run, with carry [".whl"]:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl \
#     && PYTHONPATH=/tmp/site bash benchmarks/gpu_item6.sh
set -euo pipefail
out=${OUT:-/tmp/gpu-item6}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))'
tables=()
for precision in float16 float32; do
  table="$out/gpu-vgg16-$precision.json"
  "$python" -m splitexit distredge profile-device --model vgg16 --torch-device cuda \
    --precision "$precision" --granularity 1 --repeats 5 --name "gpu-$precision" --out "$table"
  tables+=(--table "$table")
done
"$python" benchmarks/bench_spatial_shape.py --model vgg16 "${tables[@]}" --per-layer \
  | tee "$out/shape.md"
