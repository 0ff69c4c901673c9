"""The run folder: where every stage reads its inputs and writes its artifacts.

::

    <run_dir>/
      detections/<seq>.txt           fused detections (TrackR-CNN txt, see remots.io.detections)
      detections/<seq>.seeds.json    refine mode with kept ids: the input track id of each detection
      crops/<seq>.npy, .index.npy    uint8 crops (N, H, W, 3), memory-mapped; (frame, obj_id) index
      checkpoints/{intra,inter}.ckpt encoder checkpoints of the two training phases
      features/{untrained,intra,inter}/<seq>.npy  L2-normalised features, rows in detection order
      tracklets_short/<seq>.txt      short tracklets (MOTS txt), + <seq>.json metadata, thresholds
      results/<seq>.txt              final tracks (MOTS txt), + <seq>.json merge record
      baseline/<seq>.txt             IoU-only baseline tracks
      plots/                         threshold histograms (paper Fig. 4 / Fig. 5), overlays, videos
      metrics.json, metrics.csv      evaluation
      manifest.json                  config hash, inputs, versions per stage (remots.pipeline)

Frame numbers in the txt files follow the sequence's own ``frame_base``.
"""

from __future__ import annotations

from pathlib import Path


class RunFolder:
    """Paths of the artifacts inside one run folder (nothing is created until written)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def detections(self, seq: str) -> Path:
        return self.root / "detections" / f"{seq}.txt"

    def detection_seeds(self, seq: str) -> Path:
        return self.root / "detections" / f"{seq}.seeds.json"

    def crops(self, seq: str) -> Path:
        return self.root / "crops" / f"{seq}.npy"

    def crop_index(self, seq: str) -> Path:
        return self.root / "crops" / f"{seq}.index.npy"

    def checkpoint(self, phase: str) -> Path:
        return self.root / "checkpoints" / f"{phase}.ckpt"

    def features(self, phase: str, seq: str) -> Path:
        return self.root / "features" / phase / f"{seq}.npy"

    def short_tracklets(self, seq: str) -> Path:
        return self.root / "tracklets_short" / f"{seq}.txt"

    def short_meta(self, seq: str) -> Path:
        return self.root / "tracklets_short" / f"{seq}.json"

    def baseline(self, seq: str) -> Path:
        return self.root / "baseline" / f"{seq}.txt"

    def results(self, seq: str) -> Path:
        return self.root / "results" / f"{seq}.txt"

    def merge_record(self, seq: str) -> Path:
        return self.root / "results" / f"{seq}.json"

    def plots(self) -> Path:
        return self.root / "plots"

    def metrics_json(self) -> Path:
        return self.root / "metrics.json"

    def metrics_csv(self) -> Path:
        return self.root / "metrics.csv"

    def manifest(self) -> Path:
        return self.root / "manifest.json"
