"""remots: an open implementation of ReMOTS (Yang et al., CVPR 2020 MOTS Challenge winner)."""

__version__ = "0.1.0"
