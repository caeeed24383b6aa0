#!/usr/bin/env bash
# The GPU checks in one go, for a machine with CUDA (run from the repository root, .venv built with
# a CUDA torch): the CUDA tests, bench/train.py at 256 px with bf16 autocast + channels-last, then
# with torch.compile, and a 2-process DDP run of `rdh train` when the machine has 2 GPUs or more.
# Every step has its own time limit and the script goes on after a failure; the summary at the end
# says which steps passed. Figures: iDIH and CharmNet images/s and ms/step at 256 px, batch 8.
#
#   bash bench/gpu_check.sh [OUT]          # OUT: where logs go (default: gpu-check-<date>)
set -u
OUT=${1:-gpu-check-$(date +%Y%m%d-%H%M%S)}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
declare -a RESULTS=()

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s)" | tee -a "$OUT/summary.txt"
  local start=$SECONDS
  if timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; then RESULTS+=("$name: ok ($((SECONDS - start)) s)")
  else RESULTS+=("$name: FAILED rc=$? ($((SECONDS - start)) s), see $OUT/$name.log"); fi
  tail -n 12 "$OUT/$name.log" | tee -a "$OUT/summary.txt"
}

step device 60 "$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; n = torch.cuda.device_count(); \
print(torch.__version__, torch.version.cuda, n, [torch.cuda.get_device_name(i) for i in range(n)]); \
print('bf16 supported:', torch.cuda.is_bf16_supported())"
step cuda-tests 600 "$PY" -m pytest -q -m gpu tests/
step train-bf16-channels-last 600 "$PY" bench/train.py --device cuda --steps 20 --warmup 5 --amp --channels-last
step train-fp32 600 "$PY" bench/train.py --device cuda --steps 20 --warmup 5 --no-amp --no-channels-last
step train-compile 900 "$PY" bench/train.py --device cuda --steps 20 --warmup 5 --amp --channels-last --compile

GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
if [ "${GPUS:-0}" -ge 2 ]; then
  step ddp-data 300 "$PY" -c "
import sys; from pathlib import Path; sys.path.insert(0, '.')
from tests.train_support import make_real, make_rendered, merged_manifest
root = Path('$OUT/ddp-data'); root.mkdir(parents=True, exist_ok=True)
merged_manifest(root / 'all.parquet', make_rendered(root, n_scenes=4, size=256), make_real(root, n_photos=8, size=256))"
  step ddp-2-gpus 900 "$PY" -m torch.distributed.run --nproc_per_node 2 -m rdh.cli train --model charmnet \
    --manifest "$OUT/ddp-data/all.parquet" --out "$OUT/ddp-run" --max-steps 40 --batch-size 8 --image-size 256 \
    --device cuda --amp --channels-last --val-every 20 --workers 2
else
  RESULTS+=("ddp-2-gpus: skipped (this machine has ${GPUS:-0} GPU)")
fi

echo "== summary" | tee -a "$OUT/summary.txt"
printf '%s\n' "${RESULTS[@]}" | tee -a "$OUT/summary.txt"
