#!/usr/bin/env bash
# GPU readiness check for a later issue: on a CUDA machine, warm up, train ngp on full-resolution
# lego (800x800) for 5 minutes, evaluate, and time an 800x800 render. Figures go to $OUT_DIR.
#   bash bench/gpu_lego.sh [LEGO_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
LEGO=${1:-/work/shared/datasets/nerf_synthetic/lego}
OUT_DIR=${2:-runs/gpu_lego}
mkdir -p "$OUT_DIR"
python - <<'PY' >/dev/null || { echo "gpu_lego.sh: error: no CUDA device" >&2; exit 2; }
import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT_DIR/gpu.csv" || true
# warm-up: CUDA context, cuBLAS handles and allocator pools, so the timed run measures training
python -m nerf.cli "$LEGO" --device cuda --steps 50 --out "$OUT_DIR/warmup" --video-frames 0 --eval-views 1
python -m nerf.cli "$LEGO" --device cuda --minutes 5 --out "$OUT_DIR/train" --video-frames 48
python - "$OUT_DIR" <<'PY'
import json, sys, time
from pathlib import Path
import torch
from nerf.trainer import Trainer
out = Path(sys.argv[1])
trainer = Trainer.load(out / "train" / "checkpoint.pt", device="cuda")
cams = trainer.scene.split("test").cameras
trainer.render(cams, 0)  # warm
times = []
for i in range(5):
    torch.cuda.synchronize(); t = time.perf_counter()
    trainer.render(cams, i)
    torch.cuda.synchronize(); times.append(time.perf_counter() - t)
m = json.loads((out / "train" / "metrics.json").read_text())
m["render_800_seconds"] = sorted(times)[len(times) // 2]
(out / "summary.json").write_text(json.dumps(m, indent=2))
print(f"test PSNR {m['test_psnr']:.2f}  SSIM {m['test_ssim']:.3f}  {m['rays_per_second']:.0f} rays/s  "
      f"{m['samples_per_ray']:.1f} samples/ray  peak {m['peak_memory_bytes']/2**30:.2f} GiB  "
      f"render 800x800 {m['render_800_seconds']*1000:.0f} ms")
PY
