"""benchmarks/measure_gate.py --breakdown: the gate a run applied, scored link by link on a
hand-made pair of frames."""

import json
import types

import numpy as np

from benchmarks.measure_gate import link_table, print_breakdown
from remots import masks
from remots.io.instances import CAR, PEDESTRIAN, Instance


def _box(frame, obj_id, class_id, y, h, score=0.9):
    m = np.zeros((100, 100), np.uint8)
    m[y : y + h, 10:30] = 1
    return Instance(frame, obj_id, class_id, masks.encode(m[None])[0], score)


def test_breakdown_scores_each_link_against_the_theta_the_run_applied(tmp_path, capsys):
    # frame 0: cars 0, 1 and a pedestrian 2; frame 1: cars 3, 4 and the pedestrian 5
    dets = [
        _box(0, 0, CAR, 0, 10), _box(0, 1, CAR, 50, 40), _box(0, 2, PEDESTRIAN, 0, 60),
        _box(1, 3, CAR, 0, 10), _box(1, 4, CAR, 50, 40, score=0.6), _box(1, 5, PEDESTRIAN, 0, 60),
    ]  # fmt: skip
    gt_id = np.array([7, 8, 9, 7, 8, 9])
    angle = {0: 0.0, 3: 0.2, 1: 1.0, 4: 2.0, 2: 0.0, 5: 0.1}  # similarity = cos(difference)
    feats = np.array([[np.cos(angle[k]), np.sin(angle[k])] for k in range(6)])
    links = np.array([[0, 3, 0.9], [1, 4, 0.7], [0, 4, 0.1], [2, 5, 0.8]])
    (tmp_path / "tracklets_short").mkdir()
    record = {"theta_short": {"1": 0.8, "2": None}, "use_appearance": True}
    (tmp_path / "tracklets_short" / "S.json").write_text(json.dumps(record))
    seq = types.SimpleNamespace(name="S")
    rows = link_table(tmp_path, [(seq, dets, feats, gt_id, links)])

    assert len(rows) == 4
    car_true = [r for r in rows if r["class"] == CAR and r["true"]]
    assert sorted(r["sim"] < r["theta"] for r in car_true) == [False, True]  # cos 1.0 = 0.54: cut
    wrong = [r for r in rows if r["wrong"]]
    assert len(wrong) == 1 and wrong[0]["sim"] < 0.8  # cos 2.0 = -0.42: blocked
    ped = next(r for r in rows if r["class"] == PEDESTRIAN)
    assert np.isnan(ped["theta"]) and ped["true"]  # no pedestrian gate: passes
    assert {r["height px"] for r in car_true} == {10.0, 40.0}
    assert min(r["score"] for r in rows) == 0.6

    print_breakdown(tmp_path, [(seq, dets, feats, gt_id, links)])
    out = capsys.readouterr().out
    assert "| sequence S | 0.800 | 2 (50.0%) | 1 (100.0%) |" in out
    assert "| sequence S | none (no gate) | 1 (0.0%) | 0 |" in out
    assert "| warped IoU [0, 0.2) |  | 0 | 1 (100.0%) |" in out
