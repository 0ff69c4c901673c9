"""Deterministic synthetic MOTS videos: the embedded default dataset.

``generate_dataset`` writes training and target sequences in MOTSChallenge layout::

    <root>/
      train/SYN-TRAIN-01/{img1/%06d.jpg, seqinfo.ini, gt/gt.txt, det/det.txt, det/det2.txt}
      test/SYN-TEST-01/...
      seqmaps/SYN-train.txt, seqmaps/SYN-test.txt     (MOTChallenge seqmaps)
      stats.json                                       (the generator's knobs and the statistics)
      COMPLETE                                         (present only once everything is written)

Each sequence is a panning camera over a textured hall (wall, floor, background clutter, a lamp
gradient) in which ``num_objects`` person-like figures walk. An identity keeps its appearance for
the whole sequence (shirt and trouser colours, a stripe / patch pattern, sleeves, a bag, hair,
skin, body size) while its pixels change: walking deforms the legs and arms, the lamp gradient and
a per-frame gain change its brightness, pixel noise and JPEG compression are added. Shirt colours
come from a small palette (``num_shirt_colours``) so several identities look alike and must be told
apart by the rest of their appearance.

Motion makes the videos hard for a tracker without appearance: people walk in both directions at
different depths (their boxes overlap and their horizontal order swaps), nearer people occlude
farther ones, full-height pillars in the foreground hide walkers for 2-15 frames
(``occlusion_frames``: each pillar is sized so that one chosen walker disappears for that long),
some walkers enter through the image borders after the first frame and leave before the last,
some turn around, and the camera pans. ``track_hardness`` counts the crossings and
reappearances from the ground truth itself.

The ground truth is pixel-exact and exclusive (the nearest object owns a pixel; pillars own theirs),
class 2 (pedestrian), ``obj_id = 2000 + identity number`` (1-based), 1-based frames; a mask is
annotated when at least ``min_visible_area`` pixels are visible. Two simulated detectors write
TrackR-CNN-style raw detections (``remots.io.detections``) that behave like Mask R-CNN outputs:
misses (more likely the more a person is occluded or cut by the border, and in streaks),
false positives on background clutter (the same clutter fires again in later frames), masks
resampled through a ``mask_resolution`` x ``mask_resolution`` grid from a jittered box with a
jittered threshold (shift, erosion, dilation, blurred outline), partial masks, masks that spill
over the nearer person hiding part of the detected one (overlapping that person's detection),
duplicates, and scores that are high for people and lower for clutter.
Raw detections may overlap and duplicate: the fusion stage removes that.

Randomness comes only from ``np.random.default_rng`` seeded with ``[seed, split, sequence,
stream]``: the same knobs give byte-identical files, and changing a detector's knobs does not
change the frames or the ground truth.
"""

from remots.synthetic.dataset import generate_dataset, read_stats
from remots.synthetic.detectors import detections_from_gt
from remots.synthetic.params import SyntheticParams
from remots.synthetic.stats import detection_stats, merge_stats, stats_table, track_hardness

__all__ = [
    "SyntheticParams",
    "detection_stats",
    "detections_from_gt",
    "generate_dataset",
    "merge_stats",
    "read_stats",
    "stats_table",
    "track_hardness",
]
