"""Faults around the training stages' checkpoints: a planted pickle is refused (in the resume
checkpoint and in the encoder checkpoint the inter and embed stages load) without running it; a
truncated resume checkpoint is set aside and training finishes; a full disk while a checkpoint is
written leaves no temporary file, and a rerun with space gives the same weights."""

import errno
import json
import logging

import pytest
import torch

from remots import pipeline
from remots.errors import StorageError
from remots.io.run_folder import RunFolder
from remots.models.checkpoints import UnsafeCheckpointError
from remots.stages import embed, train
from tests.models.test_checkpoints import plant
from tests.stages.test_train import _cfg, _prepare


@pytest.fixture(scope="module")
def data_root(small_synthetic):
    return small_synthetic


@pytest.fixture(scope="module")
def clean_weights(data_root, tmp_path_factory):
    """The weights of an uninterrupted 2-step intra training."""
    run_dir = tmp_path_factory.mktemp("clean")
    _prepare(data_root, run_dir)
    train.intra(_cfg(data_root, run_dir), RunFolder(run_dir))
    return torch.load(RunFolder(run_dir).checkpoint("intra"), weights_only=True)["state_dict"]


def files_under(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_planted_resume_checkpoint_is_refused_and_its_code_never_runs(data_root, tmp_path):
    run, *_ = _prepare(data_root, tmp_path)
    marker = tmp_path / "marker"
    last = plant(run.checkpoint("intra-last"), marker)
    with pytest.raises(UnsafeCheckpointError) as info:
        train.intra(_cfg(data_root, tmp_path), run)
    assert str(info.value).startswith(f"{last}: refused: it holds a pickled Python object")
    assert "\n" not in str(info.value)
    assert not marker.exists()
    assert last.is_file()  # refused, not silently discarded
    assert not run.checkpoint("intra").exists()


@pytest.mark.parametrize("stage", ["inter", "embed_short"])
def test_a_planted_encoder_checkpoint_is_refused_by_the_stages_that_load_it(
    data_root, tmp_path, stage
):
    run, seq, _, ids = _prepare(data_root, tmp_path)
    run.short_meta(seq.name).parent.mkdir(parents=True)
    run.short_meta(seq.name).write_text(json.dumps({"tracklet_of_detection": ids.tolist()}))
    marker = tmp_path / "marker"
    ckpt = plant(run.checkpoint("intra"), marker)
    cfg = _cfg(data_root, tmp_path, "inter")
    with pytest.raises(UnsafeCheckpointError) as info:
        if stage == "inter":
            train.inter(cfg, run)
        else:
            list(embed.embed(cfg, run, [seq], "intra"))
    assert str(info.value).startswith(f"{ckpt}: refused")
    assert not marker.exists()


def test_a_truncated_resume_checkpoint_is_set_aside_and_training_finishes(
    data_root, tmp_path, clean_weights, caplog
):
    run, *_ = _prepare(data_root, tmp_path)
    last = run.checkpoint("intra-last")
    last.parent.mkdir(parents=True)
    torch.save({"state_dict": {"w": torch.arange(10000.0)}}, last)
    last.write_bytes(last.read_bytes()[:3000])
    cfg = _cfg(data_root, tmp_path)
    # the resume state of a killed attempt under this very config (else the pipeline drops it)
    with pipeline.Manifest(run).update() as data:
        intra = next(s for s in pipeline.STAGES if s.name == "intra")
        digest = pipeline.stage_hash(cfg, intra, pipeline.record_digest(None))
        data["stages"]["intra"] = {"hash": digest, "previous": "", "outputs": {}}
        data["pending"]["intra"] = {"hash": digest, "started_ns": 0}
    with caplog.at_level(logging.WARNING):
        assert pipeline.run_stages(cfg, ["intra"])["intra"] == "ran"
    aside = last.with_name("intra-last.ckpt.corrupt")
    assert aside.is_file() and not last.exists()
    assert f"{last}: not a readable checkpoint" in caplog.text and str(aside) in caplog.text
    assert same_weights(torch.load(run.checkpoint("intra"), weights_only=True)["state_dict"],
                        clean_weights)  # fmt: skip
    manifest = pipeline.Manifest(run).record("intra")
    assert "checkpoints/intra.ckpt" in manifest["outputs"]
    assert not [rel for rel in manifest["outputs"] if rel.startswith("checkpoints/intra-last")]
    assert pipeline.run_stages(cfg, ["intra"])["intra"] == "skipped"


def test_resume_state_of_another_config_is_not_resumed(data_root, tmp_path, clean_weights):
    run, *_ = _prepare(data_root, tmp_path)
    other = tmp_path / "other"
    _prepare(data_root, other)
    train.intra(_cfg(data_root, other, "intra", "model.optimizer.lr=0.1"), RunFolder(other))
    last = run.checkpoint("intra-last")
    last.parent.mkdir(parents=True)
    last.write_bytes(RunFolder(other).checkpoint("intra").read_bytes())
    assert pipeline.run_stages(_cfg(data_root, tmp_path), ["intra"])["intra"] == "ran"
    weights = torch.load(run.checkpoint("intra"), weights_only=True)["state_dict"]
    assert same_weights(weights, clean_weights)


@pytest.mark.parametrize("which", ["resume", "final"])
def test_a_full_disk_while_saving_a_checkpoint_leaves_no_temporary_file(
    data_root, tmp_path, clean_weights, monkeypatch, which
):
    """The checkpoint's bytes are half written when the disk fills up: one error naming the
    checkpoint, nothing left in checkpoints/; with space again the stage finishes with the
    weights of an uninterrupted run."""
    import lightning.fabric.plugins.io.torch_io as torch_io

    run, *_ = _prepare(data_root, tmp_path)
    real_save = torch_io._atomic_save

    def full_disk(checkpoint, path):
        if which == "final" and "last" in str(path):
            return real_save(checkpoint, path)
        with open(path, "wb") as f:
            f.write(b"\x00" * 4096)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch_io, "_atomic_save", full_disk)
    cfg = _cfg(data_root, tmp_path)
    name = "intra-last.ckpt" if which == "resume" else "intra.ckpt"
    with pytest.raises(StorageError) as info:
        pipeline.run_stages(cfg, ["intra"])
    assert str(info.value).startswith(
        f"{run.checkpoint('intra').parent / name}: No space left on device: free some space"
    )
    left = files_under(run.checkpoint("intra").parent)
    assert left == ([] if which == "resume" else ["intra-last.ckpt"])
    assert "intra" not in pipeline.Manifest(run).data["stages"] or "seconds" not in (
        pipeline.Manifest(run).record("intra")
    )
    monkeypatch.setattr(torch_io, "_atomic_save", real_save)
    assert pipeline.run_stages(cfg, ["intra"])["intra"] == "ran"
    assert files_under(run.checkpoint("intra").parent) == ["intra.ckpt"]
    weights = torch.load(run.checkpoint("intra"), weights_only=True)["state_dict"]
    assert same_weights(weights, clean_weights)


def test_checkpoints_hold_plain_values_only(data_root, tmp_path):
    run, *_ = _prepare(data_root, tmp_path)
    train.intra(_cfg(data_root, tmp_path), run)
    ckpt = torch.load(run.checkpoint("intra"), weights_only=True)  # no allow-list needed
    optimizer = ckpt["hyper_parameters"]["optimizer"]
    assert optimizer["_target_"].startswith("torch.optim.")
    assert isinstance(optimizer["lr"], float)
