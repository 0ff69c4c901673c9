"""EvalResult: table, CSV rows and metrics.json / metrics.csv files."""

import csv
import json

import pytest

from remots.eval import COMBINED, METRIC_NAMES, evaluate
from tests.eval.conftest import cols, tiny_sequence


@pytest.fixture()
def result():
    a = tiny_sequence([cols(t, 2001, 0, 2) for t in range(3)], 3, name="a")
    b = tiny_sequence([cols(0, 2001, 0, 2), cols(1, 2001, 0, 2)], 2, name="b")
    results = {"a": [cols(0, 2001, 0, 2), cols(1, 2001, 0, 3)], "b": [cols(0, 2005, 0, 2)]}
    return evaluate([b, a], results)


def test_rows_and_table(result):
    rows = result.to_rows()
    assert [(r["sequence"], r["class"]) for r in rows] == [
        ("a", "pedestrian"),
        ("b", "pedestrian"),
        (COMBINED, "pedestrian"),
    ]
    assert list(rows[0])[2:] == list(METRIC_NAMES)
    # a: 2 TP of 3 GT, IoUs 1 and 8/12 -> MOTSP 83.33 %
    assert rows[0]["TP"] == 2 and rows[0]["FN"] == 1
    lines = result.table().splitlines()
    assert lines[0].split()[:3] == ["pedestrian", "HOTA", "DetA"]
    a_line = lines[2].split()
    assert a_line[0] == "a"
    assert a_line[1 + METRIC_NAMES.index("MOTSP")] == "83.33"
    assert a_line[1 + METRIC_NAMES.index("TP")] == "2"
    assert lines[-1].split()[0] == COMBINED
    assert lines[-1].split()[1 + METRIC_NAMES.index("TP")] == "3"


def test_save_writes_json_and_csv(result, tmp_path):
    json_path, csv_path = tmp_path / "metrics.json", tmp_path / "metrics.csv"
    result.save(json_path, csv_path)
    saved = json.loads(json_path.read_text())
    assert saved["combined"] == result.combined
    assert saved["per_sequence"] == result.per_sequence
    assert saved["benchmark"] == "motschallenge"
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert float(rows[2]["IDF1"]) == result.combined["pedestrian"]["IDF1"]  # repr round-trips
    assert int(rows[2]["FN"]) == result.combined["pedestrian"]["FN"]
    first = json_path.read_bytes(), csv_path.read_bytes()
    result.save(tmp_path / "x.json", tmp_path / "x.csv")
    assert ((tmp_path / "x.json").read_bytes(), (tmp_path / "x.csv").read_bytes()) == first
