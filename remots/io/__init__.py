"""MOTS data layer: pure functions over files, no Hydra inside."""

from remots.io.instances import Instance
from remots.io.layouts import Video, load_sequences
from remots.io.mots import read_mots_txt, write_mots_txt

__all__ = ["Instance", "Video", "load_sequences", "read_mots_txt", "write_mots_txt"]
