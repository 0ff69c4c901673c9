"""Runs the Hypothesis fuzzing of the detection readers (``fuzz_readers.py``) in a child process
under an address-space cap (``RLIMIT_AS``, like ``ulimit -v``): a reader that sized memory by
its input (a NaN polygon once took 20.9 GB) fails there with MemoryError instead of bringing the
machine's OOM killer."""

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 3 * 2**30


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is a Linux cap")
def test_readers_fuzzed_under_a_memory_cap(tmp_path):
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "REMOTS_FUZZ_DIR": str(tmp_path),
        "REMOTS_FUZZ_EXAMPLES": os.environ.get("REMOTS_FUZZ_EXAMPLES", "200"),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(Path(__file__).with_name("fuzz_readers.py")),
        ],
        cwd=ROOT,
        env=env,
        preexec_fn=_cap_memory,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
