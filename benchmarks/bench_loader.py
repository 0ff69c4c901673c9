"""The training data loader alone: P x K batches of the intra phase (strong augmentation on the
target positives, Luo et al.'s on every view) per second, augmented by the loader's workers
(``model.data.augment_on=loader``) or on the device that trains (``augment_on=device``: the
workers only draw parameters; ``remots.data.batch_augment`` augments the batch after its
transfer), with the crops read by the workers or, ``crops_on=device``, sliced from one crop bank
on the device (the workers send rows). No encoder runs: this is what the loader can feed.

    python benchmarks/bench_loader.py                          # CPU, and CUDA when available
    python benchmarks/bench_loader.py --sizes 256x128 --workers 0 2 --batches 30

Crops are synthetic (smooth random colour, cached as uint8 like ``crops/<seq>.npy``); 200 frames
of 10 objects each for the training set and for the target video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from remots.data.crops import CropCache
from remots.data.datamodules import SequenceCrops, TripletDataModule


def synthetic_cache(size: tuple[int, int], frames: int = 200, per_frame: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = frames * per_frame
    small = rng.integers(0, 256, (n, 8, 4, 3), dtype=np.uint8)
    crops = np.stack([cv2.resize(c, size[::-1], interpolation=cv2.INTER_LINEAR) for c in small])
    index = np.stack(
        [np.repeat(np.arange(frames), per_frame), np.tile(np.arange(per_frame), frames)]
    )
    return CropCache(crops, index.T.astype(np.int64))


def bench(
    cache,
    mode: str,
    device: torch.device,
    workers: int,
    batch: int,
    batches: int,
    *,
    augment: bool = True,
) -> float:
    """Views per second through the loader (and, for ``device`` and ``bank``, the batch
    augmentation on ``device`` after the copy; ``bank``: crops sliced from the crop bank), over
    ``batches`` batches after one warm-up batch (which builds the bank). ``augment`` False
    (``device`` and ``bank``): the crops delivered to ``device`` without the augmentation, what
    the feeding alone costs."""
    dm = TripletDataModule(
        train=[SequenceCrops("train", cache, cache.obj_ids.copy())],
        target=[SequenceCrops("target", cache, np.zeros(len(cache), np.int64))],
        phase="intra",
        sampling="pk",
        batch_size=batch,
        num_instances=2,
        steps_per_epoch=batches + 1,
        num_workers=workers,
        augment_on="loader" if mode == "loader" else "device",
        crops_on="device" if mode == "bank" else "loader",
        seed=0,
    )
    dm.setup("fit")
    loader = iter(dm.train_dataloader())

    def one():
        b = next(loader)
        b = {k: v.to(device, non_blocking=True) for k, v in b.items()}
        if not augment:
            return dm.with_crops(b)["images"]
        b = dm.on_after_batch_transfer(b, 0)
        return b["images"]

    one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(batches):
        images = one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    assert images.dtype == torch.uint8
    return batch * batches / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["128x64", "256x128"])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batch", type=int, default=64, help="views per batch (P x K)")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"views/s of P x K batches of {args.batch} views (intra phase), {args.batches} batches")
    modes = [(m, d) for m in ("device", "bank") for d in devices]
    names = {"device": "augment_on=device", "bank": "augment_on=device + crops_on=device"}
    print(
        "| crop | workers | augment_on=loader | "
        + " | ".join(f"{names[m]}, batch on {d.type}" for m, d in modes)
        + " | "
        + " | ".join(f"{names[m]}, crops on {d.type} (no augmentation)" for m, d in modes)
        + " |"
    )
    print("|---|---|---|" + "---|" * 2 * len(modes))
    for text in args.sizes:
        size = tuple(int(v) for v in text.split("x"))
        cache = synthetic_cache(size)
        for workers in args.workers:
            row = [bench(cache, "loader", devices[0], workers, args.batch, args.batches)]
            for augment in (True, False):
                row += [
                    bench(cache, m, d, workers, args.batch, args.batches, augment=augment)
                    for m, d in modes
                ]
            print(f"| {text} | {workers} | " + " | ".join(f"{v:,.0f}" for v in row) + " |")


if __name__ == "__main__":
    main()
