"""Which mask to draw inside a detection box: every rule of ``remots.masks.box_masks`` measured
against the true masks of the KITTI MOTS training GT (``../shared/data/kitti_mots_train``).

For every car and pedestrian GT mask, the tight box of the mask is turned into a mask by each
rule (``box``, ``ellipse``, ``shape``) and compared with the GT mask by IoU; the table gives the
mean IoU per class. ``--fit`` also re-fits the class outlines of the ``shape`` rule (the mean GT
mask in its box, mirrored, thresholded at 0.4, simplified to a polygon), with a 2-fold
cross-validation over sequences (even / odd) so the outline is scored on sequences it did not see.

    python benchmarks/bench_box_masks.py [--fit]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from remots import masks
from remots.io.instances import CAR, PEDESTRIAN
from remots.io.layouts import load_kitti_mots

ROOT = Path(__file__).resolve().parents[1]
KITTI = ROOT.parent / "shared" / "data" / "kitti_mots_train"
TEMPLATE = (128, 64)  # rows, columns of the mean mask


def mean_iou_per_rule(sequences) -> dict[tuple[str, int], float]:
    sums: dict[tuple[str, int], list[float]] = {}
    for seq in sequences:
        for inst in seq.gt:
            if inst.class_id not in (CAR, PEDESTRIAN):
                continue
            box = masks.bbox([inst.rle])
            for rule in masks.BOX_MASK_RULES:
                pred = masks.box_masks(
                    box, inst.height, inst.width, rule=rule, class_ids=[inst.class_id]
                )
                iou = float(mask_utils.iou(pred, [inst.rle], [0])[0][0])
                sums.setdefault((rule, inst.class_id), []).append(iou)
    return {key: float(np.mean(v)) for key, v in sums.items()} | {
        ("count", cls): len(sums[("box", cls)]) for cls in (CAR, PEDESTRIAN)
    }


def box_crops(sequences, class_id: int) -> list[tuple[int, np.ndarray]]:
    out = []
    for k, seq in enumerate(sequences):
        for inst in seq.gt:
            if inst.class_id != class_id:
                continue
            x, y, w, h = masks.bbox([inst.rle])[0].astype(int)
            if w >= 2 and h >= 2:
                out.append((k, masks.decode_one(inst.rle)[y : y + h, x : x + w].astype(bool)))
    return out


def fit_outline(crops: list[np.ndarray], threshold: float = 0.4, epsilon: float = 2.0):
    """The polygon (x, y in [0, 1]) of the mean mask, mirrored, thresholded, simplified."""
    rows, cols = TEMPLATE
    mean = np.mean(
        [
            cv2.resize(c.astype(np.float32), (cols, rows), interpolation=cv2.INTER_AREA)
            for c in crops
        ],
        axis=0,
    )
    mean = (mean + mean[:, ::-1]) / 2
    contours, _ = cv2.findContours(
        (mean >= threshold).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    poly = cv2.approxPolyDP(max(contours, key=cv2.contourArea), epsilon, True)[:, 0, :]
    return (poly.astype(np.float64) + 0.5) / np.array([cols, rows])


def outline_iou(outline: np.ndarray, crops: list[np.ndarray]) -> float:
    ious = []
    for c in crops:
        h, w = c.shape
        m = np.zeros((h, w), np.uint8)
        pts = np.column_stack([outline[:, 0] * w - 0.5, outline[:, 1] * h - 0.5])
        cv2.fillPoly(m, [np.round(pts * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        inter, union = np.logical_and(c, m).sum(), np.logical_or(c, m).sum()
        ious.append(inter / union)
    return float(np.mean(ious))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="re-fit the class outlines")
    args = parser.parse_args()
    start = time.perf_counter()
    sequences = load_kitti_mots(KITTI, seqmap="seqmaps/train.seqmap")
    scores = mean_iou_per_rule(sequences)
    took = time.perf_counter() - start
    print(f"mean IoU of box_masks(rule) with the KITTI MOTS GT mask ({took:.0f} s)")
    print(f"{'class':<12}{'masks':>8}" + "".join(f"{r:>10}" for r in masks.BOX_MASK_RULES))
    for cls, name in ((CAR, "car"), (PEDESTRIAN, "pedestrian")):
        cells = "".join(f"{scores[(r, cls)]:>10.4f}" for r in masks.BOX_MASK_RULES)
        print(f"{name:<12}{scores[('count', cls)]:>8d}{cells}")
    if args.fit:
        for cls, name in ((CAR, "car"), (PEDESTRIAN, "pedestrian")):
            crops = box_crops(sequences, cls)
            folds = []
            for fold in (0, 1):
                train = [c for k, c in crops if k % 2 != fold]
                test = [c for k, c in crops if k % 2 == fold]
                folds.append((len(test), outline_iou(fit_outline(train), test)))
            cv = sum(n * s for n, s in folds) / sum(n for n, _ in folds)
            outline = fit_outline([c for _, c in crops])
            print(
                f"{name}: outline re-fitted on all sequences ({len(outline)} vertices), "
                f"2-fold cross-validated mean IoU {cv:.4f}"
            )
            print("  " + ", ".join(f"({x:.3f}, {y:.3f})" for x, y in outline))


if __name__ == "__main__":
    main()
