"""The README's Python API example runs as written, on the small synthetic dataset."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_python_api_example_runs(small_synthetic, tmp_path, capsys):
    (block,) = python_blocks()
    exec(compile(block, "README.md", "exec"), {"data": str(small_synthetic), "tmp": str(tmp_path)})
    table = capsys.readouterr().out
    assert "HOTA" in table and "COMBINED" in table


def bash_commands() -> list[str]:
    """The README's ``python track.py ...`` lines, continuation lines joined."""
    text = "\n".join(re.findall(r"```bash\n(.*?)```", README.read_text(), re.S))
    return [c.strip() for c in text.replace("\\\n", " ").splitlines() if "track.py" in c]


FAST = [
    "trainer.max_steps=20",
    "model.data.steps_per_epoch=10",
    "model.data.num_val_triplets=8",
    "model.scheduler.warmup_steps=2",
    "model.scheduler.milestones=[15,18]",
    "report.overlays.max_frames=5",
]


@pytest.mark.parametrize("layout", ["video", "frames"])
def test_the_readme_command_of_each_own_data_layout_runs_to_the_end(layout, tmp_path, shared_data):
    """The README's command for a video / a folder of frames, as written (fewer training steps,
    and 40 frames of the video), on the real data in ../shared/data: tracks, overlays and no
    ground truth to evaluate against."""
    (command,) = [c for c in bash_commands() if f"data={layout} " in c]
    args = shlex.split(command)[2:]  # after "python track.py"
    if layout == "video":
        args = [a for a in args if not a.startswith("data.stop=")] + ["data.stop=40"]
    out = subprocess.run(
        [sys.executable, str(ROOT / "track.py"), *args, *FAST,
         f"paths.output_root={tmp_path}", f"hydra.run.dir={tmp_path / 'h'}"],
        cwd=ROOT,
        env={**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    (run,) = [p for p in tmp_path.iterdir() if (p / "manifest.json").is_file()]
    (results,) = list((run / "results").glob("*.txt"))
    assert len(results.read_text().splitlines()) > 10  # masks tracked
    assert list((run / "plots" / "overlays").glob("*.jpg"))
    assert not (run / "metrics.json").exists()  # no ground truth: nothing evaluated
    assert "no ground truth: evaluation skipped" in out.stdout + out.stderr
