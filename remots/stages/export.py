"""``python track.py stage=export``: the final tracks (``results/``) in the formats other tools
read, into ``export/<format>/`` (``remots.io.export``):

- ``mots_txt``: MOTS txt per sequence, as TrackEval reads it; with
  ``export.mots_tools_names`` named by the sequence's number (``MOTS20-09`` -> ``0009.txt``), as
  mots_tools' MOTSChallenge evaluation finds them;
- ``mots_png``: MOTS png folders, one 16-bit image per frame (pixel = obj_id);
- ``mot_boxes``: MOTChallenge box CSV of the masks' boxes (``export.box_class``, pedestrians by
  default), as TrackEval's MotChallenge2DBox reads it.

The last stage of ``stage=all``; ``export.formats`` (empty by default) says which to write.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from remots.config import typed
from remots.io.export import export_mot_boxes, export_mots_png, export_mots_txt
from remots.io.mots import read_mots_txt
from remots.io.run_folder import RunFolder
from remots.stages.videos import target_videos

log = logging.getLogger(__name__)


def export(cfg: DictConfig, run: RunFolder) -> None:
    """Write every format of ``export.formats`` for every target video's results."""
    options = typed(cfg.export)
    if not options.formats:
        return
    videos = target_videos(cfg)
    tracks = {
        v.name: read_mots_txt(
            run.results(v.name),
            frame_base=v.frame_base,
            num_frames=v.num_frames,
            image_size=v.image_size,
            frame_step=v.frame_step,
        )
        for v in videos
    }
    folder = Path(options.folder)
    for fmt in options.formats:
        if fmt == "mots_txt":
            written = export_mots_txt(
                folder / fmt, tracks, videos, mots_tools_names=options.mots_tools_names
            )
        elif fmt == "mots_png":
            written = export_mots_png(folder / fmt, tracks, videos)
        else:
            written = export_mot_boxes(folder / fmt, tracks, videos, class_id=options.box_class)
        log.info("exported %d sequences as %s into %s", len(written), fmt, folder / fmt)
