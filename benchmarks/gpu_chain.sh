#!/usr/bin/env bash
# bench_chain.py on a lent GPU machine, with the paper's encoder (SE-ResNeXt50 at 256x128, from
# random weights: the machine has no network), in at most 8 minutes.
#
# 1. Here, with network, once (wheels of what the GPU machine's image lacks, into .whl/, which
#    .git/info/exclude keeps out of git):
#        bash benchmarks/gpu_chain.sh --fetch-wheels
# 2. On the machine (the device tool), from the repository root:
#        run(command="bash benchmarks/gpu_chain.sh", carry=[".whl"], timeout_s=540)
#    What comes back in $OUT: bench_chain_gpu.md (the table), bench_chain_gpu.log,
#    bench_loader_gpu.md, tests.log, gpu_tests.log.
#
# The run: the CUDA embedding tests (pinned buffers, side-stream copies) against the CPU's
# features, then the whole chain on 2,864 frames at 1920x1080 (MOTS20's 2,862: 16 synthetic
# videos of 179 frames, which 16 cores generate in about 30 s; the 4 MOTS20-long videos would take
# 2 minutes), 300 steps a training phase (the paper's recipe has 8,000: the table gives img/s),
# the overlays of the first 40 frames a sequence, and the embedding against the forward pass
# alone. Before the chain: the training loader alone (bench_loader.py, crops augmented by 8
# workers or as a batch on the GPU). BENCH_ARGS adds to or overrides bench_chain.py's arguments.
#
# Before spending device time, here (CPU, about 5 minutes on 2 cores):
#        bash benchmarks/gpu_chain.sh --smoke
# runs the same steps on the CPU, sized down (2 short 1080p videos, 2 steps a phase, 64 crops for
# the embedding check), with the packages the device image lacks made unimportable
# (benchmarks/device_image/sitecustomize.py): an import or argument that would fail there
# fails here. The CUDA tests are collected and skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--fetch-wheels" ]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    mkdir -p .whl
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl \
        hydra-core==1.3.8 omegaconf==2.3.0 pycocotools==2.0.11 trackeval==1.3.0
    python3 -m pip wheel --no-deps -w .whl antlr4-python3-runtime==4.9.3  # an sdist on PyPI
    ls -la .whl
    exit 0
fi

OUT=${OUT:-/tmp/gpu_chain_out}
mkdir -p "$OUT"
if [ "${1:-}" = "--smoke" ]; then
    PY=${PYTHON:-.venv/bin/python}
    export PYTHONPATH=$PWD/benchmarks/device_image:$PWD WANDB_MODE=disabled PYTHONUNBUFFERED=1
    SIZE="--scale 0.015 --sequences 2 --train-frames 20 --trainer cpu --steps 2 --embed-crops 64"
    LOADER="--workers 0 2 --batches 3"
    echo "smoke run on the CPU, packages missing on the device image blocked" | tee "$OUT/tests.log"
else
    PY=python3
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD WANDB_MODE=disabled PYTHONUNBUFFERED=1
    SIZE="--sequences 16 --train-frames 200 --trainer gpu --steps 300 --embed-crops 8192"
    LOADER="--workers 0 8 --batches 20"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        | tee "$OUT/tests.log"
fi
nproc | tee -a "$OUT/tests.log"

# the chain trains with the batch augmented on the GPU and sliced from the crop bank when their
# CUDA tests pass, else with the default loader (the workers read and augment each crop)
FEED="model.data.augment_on=device model.data.crops_on=device"
if ! timeout 60 $PY -m pytest -q -p no:cacheprovider -m gpu tests/models/test_embedding_cuda.py \
    tests/data/test_batch_augment.py tests/data/test_datamodules.py >"$OUT/gpu_tests.log" 2>&1; then
    FEED=""
    echo "a CUDA test failed: the chain trains with the default loader" | tee -a "$OUT/tests.log"
fi
tail -5 "$OUT/gpu_tests.log" | tee -a "$OUT/tests.log"

# the training loader alone: augmented by its workers or, as a batch, on the GPU (crops read by
# the workers or sliced from the crop bank on the GPU)
# shellcheck disable=SC2086
timeout 60 $PY benchmarks/bench_loader.py --sizes 256x128 --batch 192 $LOADER \
    2>&1 | tee "$OUT/bench_loader_gpu.md" || true

# shellcheck disable=SC2086
timeout 400 $PY benchmarks/bench_chain.py --out /tmp/bench_chain $SIZE \
    --model reid_seresnext50 --embed-check --markdown "$OUT/bench_chain_gpu.md" ${BENCH_ARGS:-} \
    model.net.pretrained=false report.overlays.max_frames=40 $FEED \
    2>&1 | tee "$OUT/bench_chain_gpu.log"
