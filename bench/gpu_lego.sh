#!/usr/bin/env bash
# One call on a CUDA machine: the CUDA-vs-CPU tests, then MINUTES of ngp on full-resolution lego,
# the test evaluation, a step-time breakdown and 800x800 render timings. Figures, logs and two
# test renders (prediction | ground truth) go to OUT_DIR; the rest stays in a temporary folder.
#   bash bench/gpu_lego.sh [LEGO_DIR] [OUT_DIR] [MINUTES]
# The device tool carries at most 64 MiB: lego's 100 train views plus every 8th test view (25 of
# 200) fit; the published lego figures average all 200 test views.
set -uo pipefail
cd "$(dirname "$0")/.."
LEGO=${1:-../shared/datasets/nerf_synthetic/lego}
OUT_DIR=${2:-runs/gpu_lego}
MINUTES=${3:-5}
RUN=$(mktemp -d)
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT_DIR"
nvidia-smi > "$OUT_DIR/gpu.txt" 2>&1
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" \
    >> "$OUT_DIR/gpu.txt" 2>&1 || { cat "$OUT_DIR/gpu.txt"; exit 2; }
tail -1 "$OUT_DIR/gpu.txt"
# fail fast (and cheaply) if the CUDA path is broken
timeout 300 python -m pytest -q -x -p no:cacheprovider tests/nerf/test_cuda.py > "$OUT_DIR/cuda_tests.txt" 2>&1 \
    || { tail -40 "$OUT_DIR/cuda_tests.txt"; exit 1; }
tail -1 "$OUT_DIR/cuda_tests.txt"
python -m nerf.cli "$LEGO" --device cuda --minutes "$MINUTES" --out "$RUN/train" --video-frames 0 2>&1 \
    | tr '\r' '\n' > "$OUT_DIR/train.log"
grep -v '^step' "$OUT_DIR/train.log" | tail -5
grep '^step' "$OUT_DIR/train.log" | awk 'NR % 60 == 1' | tail -12
cp "$RUN/train/metrics.json" "$OUT_DIR/" || exit 1
cp "$RUN/train/test/000.png" "$OUT_DIR/test_000.png"
cp "$RUN/train/test/012.png" "$OUT_DIR/test_012.png"
timeout 180 python bench/gpu_breakdown.py "$RUN/train/checkpoint.pt" --out "$OUT_DIR/breakdown.json" \
    > "$OUT_DIR/breakdown.log" 2>&1
tail -40 "$OUT_DIR/breakdown.log"
