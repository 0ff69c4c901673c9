"""benchmarks/readme_results.py seeds: the README's seed tables assembled from each seed's
benchmark and measure_merge outputs (the two subprocesses replaced by files written here: the
chains take 40 minutes)."""

import json
from pathlib import Path

import benchmarks.readme_results as readme_results

CLASSES = ("car", "pedestrian")


def _metrics(idf1_car: float, idf1_ped: float) -> dict:
    def row(car, ped, purity=1.0):
        return {
            c: {"IDF1": v, "HOTA": v / 2, "sMOTSA": v / 4, "purity": purity}
            for c, v in zip(CLASSES, (car, ped), strict=True)
        }

    return {
        "ReMOTS merged": row(idf1_car, idf1_ped),
        "short tracklets": row(0.3, 0.2, purity=0.99),
        "ByteTrack": row(0.6, 0.5),
        "oracle": row(1.0, 0.9),
    }


def test_seed_tables_from_each_seeds_outputs(tmp_path, monkeypatch):
    merged = {0: (0.8, 0.7), 1: (0.92, 0.5)}  # gap closed: 50 % / 50 %, 80 % / 0 %

    def fake_run(command, log):  # stands in for the benchmark and measure_merge subprocesses
        folder = log.parent
        seed = int(folder.name.removeprefix("seed"))
        if "benchmarks/kitti_semireal.py" in command:
            assert f"seed={seed}" in command and "--trackers" in command
            report = {"metrics": _metrics(*merged[seed])}
            (folder / "kitti_semireal.json").write_text(json.dumps(report))
        else:
            assert f"seed={seed}" in command and "run_name=pretrained" in command
            rows = [
                {"variant": v, "class": c, "IDF1": 0.01 * k + (c == "pedestrian") * 0.001}
                for k, v in enumerate(readme_results.MERGE_COLUMNS)
                for c in CLASSES
            ]
            path = Path(command[command.index("--json") + 1])
            path.write_text(json.dumps({"rows": rows}))
        return 60.0, 0.0

    monkeypatch.setattr(readme_results, "run", fake_run)
    text = readme_results.seeds_table(tmp_path, tmp_path / "data", [0, 1])
    lines = text.splitlines()
    purity = "0.990 / 0.990"
    assert (
        f"| 0 | 0.800 / 0.700 | 50 % / 50 % | 0.400 / 0.350 | 0.200 / 0.175 | {purity} |" in lines
    )
    assert f"| 1 | 0.920 / 0.500 | 80 % / 0 % | 0.460 / 0.250 | 0.230 / 0.125 | {purity} |" in lines
    assert "| mean | 0.860 / 0.600 | 65 % / 25 % | | | |" in lines
    assert "ByteTrack 0.600 / 0.500, oracle 1.000 / 0.900" in text
    cells = [f"{0.01 * k:.3f} / {0.01 * k + 0.001:.3f}" for k in range(6)]
    assert "| 0 | " + " | ".join(cells) + " |" in lines  # the columns in the table's order
    assert "(4 min)" in text  # four subprocesses of 60 s
