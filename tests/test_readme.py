"""The README's Python API example runs as written, on the small synthetic dataset."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_python_api_example_runs(small_synthetic, tmp_path, capsys):
    (block,) = python_blocks()
    exec(compile(block, "README.md", "exec"), {"data": str(small_synthetic), "tmp": str(tmp_path)})
    table = capsys.readouterr().out
    assert "HOTA" in table and "COMBINED" in table
