"""The training stages end to end on tiny scenes: checkpoint, skip, force, exact resume, inter
from intra, loggers."""

import json
import logging

import lightning as L
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from remots import pipeline
from remots.errors import ConfigError, InputError
from remots.io.detections import write_detections_txt
from remots.io.layouts import load_motschallenge
from remots.io.run_folder import RunFolder
from remots.stages import train
from remots.synthetic import detections_from_gt

CONF = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "conf")


def run_intra(cfg):
    return train.intra(cfg, RunFolder(cfg.paths.run_dir))


def run_inter(cfg):
    return train.inter(cfg, RunFolder(cfg.paths.run_dir))


@pytest.fixture(scope="module")
def data_root(small_synthetic):
    return small_synthetic


def _cfg(data_root, run_dir, stage="intra", *extra):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"stage={stage}",
                f"data.root={data_root}",
                "data.generator=null",
                "data.name=toy",
                f"paths.run_dir={run_dir}",
                "model.data.input_size=[32,16]",
                "model.data.batch_size=8",
                "model.data.num_instances=2",
                "model.data.steps_per_epoch=2",
                "model.data.num_val_triplets=8",
                "model.data.val_fraction=0.5",
                "trainer.max_steps=2",
                "~callbacks.progress_bar",
                "trainer.enable_progress_bar=false",
                *extra,
            ],
        )


def _prepare(data_root, run_dir):
    run = RunFolder(run_dir)
    seq = load_motschallenge(data_root / "test")[0]
    dets, ids = detections_from_gt(seq.gt, rng=np.random.default_rng(0))
    write_detections_txt(run.detections(seq.name), dets, frame_base=1)
    return run, seq, dets, ids


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


def test_intra_checkpoints_then_skips_then_is_forced(data_root, tmp_path):
    run, *_ = _prepare(data_root, tmp_path)
    assert pipeline.run_stages(_cfg(data_root, tmp_path), ["intra"])["intra"] == "ran"
    final = run.checkpoint("intra")
    ckpt = torch.load(final, map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 2
    assert "optimizer_states" not in ckpt  # the trained encoder; resume state is <phase>-last
    assert sorted(p.name for p in final.parent.iterdir()) == ["intra.ckpt"]  # no temp, no last
    stamp = final.stat().st_mtime_ns
    assert pipeline.run_stages(_cfg(data_root, tmp_path), ["intra"])["intra"] == "skipped"
    assert final.stat().st_mtime_ns == stamp
    forced = _cfg(data_root, tmp_path, "intra", "force=[intra]")
    assert pipeline.run_stages(forced, ["intra"])["intra"] == "ran"
    assert final.stat().st_mtime_ns != stamp
    # deterministic: the retrained weights are the same
    assert all(torch.equal(v, ckpt["state_dict"][k]) for k, v in _weights(final).items())


def test_resume_continues_exactly(data_root, tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        _prepare(data_root, d)
    run_intra(_cfg(data_root, a, "intra", "trainer.max_steps=4"))
    # b: 2 steps = one epoch and its resume checkpoint, then killed writing the final encoder
    real_save = L.Trainer.save_checkpoint

    def killed_at_the_final_save(trainer, filepath, weights_only=None, storage_options=None):
        if weights_only:  # the encoder; the resume checkpoint keeps the optimizer
            raise KeyboardInterrupt
        return real_save(trainer, filepath, weights_only, storage_options)

    monkeypatch.setattr(L.Trainer, "save_checkpoint", killed_at_the_final_save)
    with pytest.raises(KeyboardInterrupt):
        run_intra(_cfg(data_root, b))
    monkeypatch.setattr(L.Trainer, "save_checkpoint", real_save)
    rb = RunFolder(b)
    assert sorted(p.name for p in rb.checkpoint("intra").parent.iterdir()) == ["intra-last.ckpt"]
    run_intra(_cfg(data_root, b, "intra", "trainer.max_steps=4"))
    wa, wb = _weights(RunFolder(a).checkpoint("intra")), _weights(rb.checkpoint("intra"))
    assert torch.load(rb.checkpoint("intra"), weights_only=False)["global_step"] == 4
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_inter_starts_from_intra_and_needs_short_tracklets(data_root, tmp_path):
    run, seq, dets, ids = _prepare(data_root, tmp_path)
    with pytest.raises(ConfigError, match=r"intra.ckpt"):
        run_inter(_cfg(data_root, tmp_path, "inter"))
    run_intra(_cfg(data_root, tmp_path))
    with pytest.raises(InputError, match="stage=short"):
        run_inter(_cfg(data_root, tmp_path, "inter"))
    # tracklets: the GT identities cut into 4-frame pieces
    frames = np.array([d.frame for d in dets])
    tracklets = ids * 10 + frames // 4
    run.short_meta(seq.name).parent.mkdir(parents=True, exist_ok=True)
    run.short_meta(seq.name).write_text(json.dumps({"tracklet_of_detection": tracklets.tolist()}))
    run_inter(_cfg(data_root, tmp_path, "inter", "trainer.max_steps=0"))
    intra, inter = _weights(run.checkpoint("intra")), _weights(run.checkpoint("inter"))
    assert all(torch.equal(intra[k], inter[k]) for k in intra)  # 0 steps: the intra weights
    run.short_meta(seq.name).write_text(json.dumps({"tracklet_of_detection": [1, 2]}))
    with pytest.raises(InputError, match="entries"):
        run_inter(_cfg(data_root, tmp_path, "inter"))


def test_inter_beside_the_intra_checkpoint_warns_nothing(data_root, tmp_path, recwarn):
    """checkpoints/ holds intra.ckpt when inter trains (by design): Lightning's "directory exists
    and is not empty" warning is noise there, as is its deprecation warning from torch's pytree;
    the phase raises neither."""
    run, seq, dets, ids = _prepare(data_root, tmp_path)
    run_intra(_cfg(data_root, tmp_path))
    frames = np.array([d.frame for d in dets])
    run.short_meta(seq.name).parent.mkdir(parents=True, exist_ok=True)
    run.short_meta(seq.name).write_text(
        json.dumps({"tracklet_of_detection": (ids * 10 + frames // 4).tolist()})
    )
    recwarn.clear()
    run_inter(_cfg(data_root, tmp_path, "inter"))
    assert sorted(p.name for p in run.checkpoint("inter").parent.iterdir()) == [
        "inter.ckpt",
        "intra.ckpt",
    ]
    noise = ("Checkpoint directory", "LeafSpec")
    assert not [w for w in recwarn if any(text in str(w.message) for text in noise)]


def test_lightning_logs_each_line_once_and_without_its_advert():
    """Lightning's package logger has a console handler of its own and also propagates to the
    root logger (Hydra's handlers): with a root handler present, its own goes; the cloud-logger
    tip is dropped, other messages pass."""
    root, package = logging.getLogger(), logging.getLogger("lightning")
    added = logging.NullHandler()
    root.addHandler(added)
    saved = list(package.handlers)
    try:
        package.addHandler(logging.StreamHandler())
        train._tidy_lightning_logging()
        assert not [h for h in package.handlers if type(h) is logging.StreamHandler]
        rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")

        def passes(msg):
            return rank_zero.filter(logging.LogRecord("x", logging.INFO, "", 0, msg, None, None))

        assert not passes("💡 Tip: For seamless cloud logging, try installing litlogger")
        assert passes("GPU available: False, used: False")
    finally:
        root.removeHandler(added)
        package.handlers[:] = saved


def test_csv_logger_records_the_losses(data_root, tmp_path):
    _prepare(data_root, tmp_path)
    run_intra(_cfg(data_root, tmp_path, "intra", "logger=csv", "trainer.log_every_n_steps=1"))
    metrics = next((tmp_path / "csv").rglob("metrics.csv")).read_text()
    assert "train/loss" in metrics and "val/triplet_acc" in metrics and "lr-Adam" in metrics


@pytest.mark.slow
def test_wandb_offline(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    _prepare(data_root, tmp_path)
    run_intra(_cfg(data_root, tmp_path, "intra", "logger=wandb", "logger.wandb.offline=true"))
    assert list((tmp_path / "wandb").glob("offline-run-*"))


@pytest.mark.slow
def test_wandb_gives_each_training_phase_its_own_run(data_root, tmp_path, monkeypatch):
    """intra then inter in one process (as stage=all runs them): two W&B runs, named after the
    phase, job_type the phase, grouped by the run folder; inter does not reuse intra's run."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    run, seq, dets, ids = _prepare(data_root, tmp_path)
    frames = np.array([d.frame for d in dets])
    run.short_meta(seq.name).parent.mkdir(parents=True, exist_ok=True)
    run.short_meta(seq.name).write_text(
        json.dumps({"tracklet_of_detection": (ids * 10 + frames // 4).tolist()})
    )
    extra = ("logger=wandb", "logger.wandb.offline=true", "trainer.log_every_n_steps=1")
    run_intra(_cfg(data_root, tmp_path, "intra", *extra))
    run_inter(_cfg(data_root, tmp_path, "inter", *extra))
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
    # each offline run's record file holds its own name (run_name-phase), not the other's
    records = [next(r.glob("*.wandb")).read_bytes() for r in runs]
    assert [(b"toy-intra" in rec, b"toy-inter" in rec) for rec in records] == [
        (True, False),
        (False, True),
    ]


def test_target_epochs_set_the_steps_from_the_target_crops_and_scale_the_schedule(
    data_root, tmp_path
):
    """model.data.target_epochs: ceil(epochs x target crops / target crops a step shows) steps,
    the scheduler's warm-up and milestones scaled from trainer.max_steps; null keeps
    trainer.max_steps; inter_target_epochs counts the inter phase's alone. Hand-computed on the
    toy target video."""
    run_dir = tmp_path / "r"
    _, _, dets, _ = _prepare(data_root, run_dir)
    cfg = _cfg(
        data_root, run_dir, "intra", "model.data.sampling=pk", "model.data.target_epochs=2.5"
    )
    run = RunFolder(run_dir)
    datamodule = train._datamodule(cfg, run, "intra")
    # batch 8, K = 2, ratio 1:1: 4 objects a batch, 2 of them target objects, 4 target views
    assert datamodule.target_views_per_step() == 4
    assert datamodule.num_target_crops == len(dets)
    steps = train.phase_steps(cfg, datamodule, "intra")
    assert steps == int(np.ceil(2.5 * len(dets) / 4))
    assert train.phase_steps(_cfg(data_root, run_dir), datamodule, "intra") is None
    # inter_target_epochs: the inter phase's own count, the intra phase keeps target_epochs
    both = _cfg(
        data_root,
        run_dir,
        "intra",
        "model.data.sampling=pk",
        "model.data.target_epochs=2.5",
        "model.data.inter_target_epochs=4",
    )
    assert train.phase_steps(both, datamodule, "intra") == steps
    assert train.phase_steps(both, datamodule, "inter") == int(np.ceil(4 * len(dets) / 4))
    only = _cfg(data_root, run_dir, "intra", "model.data.inter_target_epochs=4")
    assert train.phase_steps(only, datamodule, "intra") is None
    assert train.phase_steps(only, datamodule, "inter") == int(np.ceil(4 * len(dets) / 4))
    # the schedule: warm-up 20 and milestones [300, 420] of 480 steps, scaled to 960
    node = cfg.model.scheduler
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    same = train._scheduler(node, None, 480)(optimizer)
    doubled = train._scheduler(node, 960, 480)(optimizer)
    for step in (0, 10, 299, 300, 419, 420, 479):
        assert doubled.lr_lambdas[0](2 * step) == pytest.approx(same.lr_lambdas[0](step))
    cfg = _cfg(
        data_root, run_dir, "intra", "model.data.sampling=triplets", "model.data.target_epochs=2"
    )
    assert train._datamodule(cfg, run, "intra").target_views_per_step() == 3 * 4  # triplets
    run_intra(cfg)  # trains the counted steps, not trainer.max_steps=2
    saved = torch.load(run.checkpoint("intra"), map_location="cpu", weights_only=True)
    assert saved["global_step"] == int(np.ceil(2 * len(dets) / 12))
