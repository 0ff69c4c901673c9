"""MOTS data layer: pure functions over files, no Hydra inside."""

from remots.io.layouts import Sequence, load_sequences
from remots.io.mots import Instance, read_mots_txt, write_mots_txt

__all__ = ["Instance", "Sequence", "load_sequences", "read_mots_txt", "write_mots_txt"]
