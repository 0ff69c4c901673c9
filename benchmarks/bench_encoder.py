"""Encoder throughput: training and embedding images per second, per backbone and device.

Training = forward + backward + Adam step of the triplet module on random uint8 crops (the
batch is the number of crops, i.e. 3 x triplets); embedding = ``embed_crops`` (inference mode,
L2-normalised). On CUDA both use AMP (fp16 autocast) and channels-last.

    python benchmarks/bench_encoder.py                      # CPU, and CUDA when available
    python benchmarks/bench_encoder.py --gpu-batches 64 128 256 --steps 20
    python benchmarks/bench_encoder.py --backbones mobilenetv2_100 --sizes 128x64 --cpu-batch 33
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from remots.models.components.backbone import ReIDEncoder, to_images
from remots.models.embedding import embed_crops
from remots.models.losses import triplet_loss


def bench_train(net, device, batch, size, steps, amp) -> float:
    net = net.to(device).train()
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=3.5e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    gen = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (batch - batch % 3, *size, 3), dtype=torch.uint8, generator=gen)

    def step():
        x = to_images(crops.to(device, non_blocking=True))
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            f = net(x)["feature"].float()
        a, p, n = f.chunk(3)
        loss = triplet_loss(a, p, n, margin=0.3)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()  # warm-up (cuDNN autotune, allocator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(crops) * steps / (time.perf_counter() - t)


def bench_embed(net, device, batch, size, steps) -> float:
    crops = np.random.default_rng(0).integers(0, 256, (batch * steps, *size, 3), dtype=np.uint8)
    embed_crops(net, crops[:batch], batch_size=batch, device=device, progress=False)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    embed_crops(net, crops, batch_size=batch, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(crops) / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "seresnext50_32x4d"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--cpu-batch", type=int, default=48)
    parser.add_argument("--gpu-batches", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--no-cpu", action="store_true")
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["64x32", "256x128"],
        help="crop sizes, HxW (default: %(default)s)",
    )
    args = parser.parse_args()
    rows = []
    devices = [] if args.no_cpu else [("cpu", [args.cpu_batch])]
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        devices.append(("cuda", args.gpu_batches))
    for backbone in args.backbones:
        for size in [tuple(int(v) for v in text.split("x")) for text in args.sizes]:
            for dev, batches in devices:
                for batch in batches:
                    device = torch.device(dev)
                    torch.manual_seed(0)
                    net = ReIDEncoder(backbone=backbone)
                    amp = dev == "cuda"
                    train = bench_train(net, device, batch, size, args.steps, amp)
                    embed = bench_embed(net, device, batch, size, args.steps)
                    rows.append((backbone, f"{size[0]}x{size[1]}", dev, batch, amp, train, embed))
                    print(
                        f"{backbone:<20} {rows[-1][1]:>7} {dev:>5} {batch:>5} {train:>9.1f} "
                        f"{embed:>9.1f}",
                        file=sys.stderr,
                    )
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, GPU: {name}")
    print(
        f"{'backbone':<20} {'crop':>7} {'dev':>5} {'batch':>5} {'amp':>5} {'train im/s':>11} "
        f"{'embed im/s':>11}"
    )
    for b, s, d, n, amp, tr, em in rows:
        print(f"{b:<20} {s:>7} {d:>5} {n:>5} {amp!s:>5} {tr:>11.1f} {em:>11.1f}")


if __name__ == "__main__":
    main()
