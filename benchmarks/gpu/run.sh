#!/usr/bin/env bash
# The GPU benchmark run, on a GPU machine without network, from the repo root:
#
#   bash benchmarks/gpu/run.sh suites     # every suite (about 5 minutes on an H100)
#   bash benchmarks/gpu/run.sh large      # knn_million, racg_full, end-to-end rrnet_cifar
#
# Needs .whl/ from benchmarks/gpu/fetch_wheels.sh (run on a machine with the
# package registry) for what the image lacks (jraph, ml-collections, TFDS,
# tensorboardX); installs them with --no-deps into /tmp/site. Writes
# bench.json, bench.md (a RESULTS.md section) and log.txt to $OUT (default
# /tmp/xmjax_gpu); the end-to-end run adds e2e_results.json and e2e_timing.json.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/xmjax_gpu}
mkdir -p "$OUT" /tmp/xmjax_bench
part=${1:-suites}
log="$OUT/log.txt"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl >>"$log" 2>&1 || { echo "wheel install failed" | tee -a "$log"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
# PyTorch references share the GPU: JAX takes 60% of it instead of 75%.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.6}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c "import jax, torch, flax, optax; print('jax', jax.__version__, jax.devices(), '| torch', torch.__version__, '| flax', flax.__version__, '| optax', optax.__version__)"
} 2>&1 | tee -a "$log"

suite() {  # name, time limit in seconds
  echo "=== suite $1 ($(date -u +%T))" | tee -a "$log"
  timeout "$2" python3 -m benchmarks.run --suite="$1" --no-append --out="/tmp/xmjax_bench/$1.json" 2>&1 | tee -a "$log"
  echo "=== suite $1 exit ${PIPESTATUS[0]} ($(date -u +%T))" | tee -a "$log"
  python3 -m benchmarks.gpu.merge "$OUT/bench.json" "$OUT/bench.md" /tmp/xmjax_bench/*.json >>"$log" 2>&1
}

case "$part" in
  suites)
    suite drsl 80; suite knn 60; suite rrnet 110; suite sdml 50; suite resnet 130; suite racg 120
    suite racg_train 120
    ;;
  large)
    suite knn_million 200; suite racg_full 150
    echo "=== e2e rrnet_cifar ($(date -u +%T))" | tee -a "$log"
    rm -rf /tmp/xmjax_e2e
    # CIFAR-10 at full size on generated examples: 50,000 train / 10,000 test,
    # ResNet18 width 1.0, 3 epochs, then the RR-Net stage as configured.
    timeout "${E2E_LIMIT:-220}" python3 launch/train.py --config=configs/rrnet_cifar.py \
      --workdir=/tmp/xmjax_e2e --config.data.fake_examples=50000 \
      --config.data.fake_test_examples=10000 --config.baseline.num_epochs=3 2>&1 | tail -40 | tee -a "$log"
    echo "=== e2e exit ${PIPESTATUS[0]} ($(date -u +%T))" | tee -a "$log"
    cp /tmp/xmjax_e2e/results.json "$OUT/e2e_results.json" 2>/dev/null
    cp /tmp/xmjax_e2e/timing.json "$OUT/e2e_timing.json" 2>/dev/null
    ;;
  *) echo "unknown part $part (suites or large)"; exit 2 ;;
esac
