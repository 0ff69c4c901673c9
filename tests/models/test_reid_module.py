import functools

import lightning as L
import numpy as np
import pytest
import torch

from remots.data.datamodules import SequenceCrops, TripletDataModule
from remots.models.components.backbone import ReIDEncoder
from remots.models.losses import triplet_loss, warmup_multistep
from remots.models.reid_module import ReIDModule, to_images


@pytest.fixture(scope="module")
def crops(small_crop_caches):
    tc, gc = small_crop_caches
    return SequenceCrops("train", tc, tc.obj_ids.copy()), SequenceCrops("t", gc, np.zeros(len(gc)))


def _dm(crops, **kw):
    args = dict(
        train=[crops[0]],
        target=[crops[1]],
        phase="intra",
        batch_size=4,
        steps_per_epoch=3,
        val_fraction=0.5,
        num_val_triplets=8,
        seed=0,
    )
    args.update(kw)
    return TripletDataModule(**args)


def _module(num_identities=0, id_loss_weight=0.0, lr=1e-3):
    torch.manual_seed(0)
    net = ReIDEncoder(backbone="resnet18", num_identities=num_identities)
    return ReIDModule(
        net,
        optimizer=functools.partial(torch.optim.Adam, lr=lr),
        scheduler=functools.partial(warmup_multistep, warmup_steps=2, milestones=[100]),
        id_loss_weight=id_loss_weight,
    )


def _fast_dev_trainer(**kwargs) -> L.Trainer:
    """One training and one validation batch on the CPU, quietly."""
    return L.Trainer(
        fast_dev_run=True,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_fast_dev_run_on_cpu(crops):
    dm = _dm(crops)
    module = _module(num_identities=dm.num_identities, id_loss_weight=1.0)
    trainer = _fast_dev_trainer()
    trainer.fit(module, datamodule=dm)
    assert trainer.global_step == 1
    for key in ("train/loss", "train/loss_triplet", "train/loss_id", "val/triplet_acc"):
        assert torch.isfinite(trainer.callback_metrics[key]), key
    assert "net" not in module.hparams and module.hparams.margin == 0.3


def test_loss_falls_on_synthetic_triplets(crops):
    dm = _dm(crops, augment=False, steps_per_epoch=1, batch_size=8)
    dm.setup("fit")
    fixed = [dm.train_dataset[k] for k in next(iter(dm.batch_sampler))]
    batch = {k: torch.stack([b[k] for b in fixed]) for k in fixed[0]}
    module = _module(lr=1e-3)

    def loss_now():  # in train mode: BatchNorm normalises with the batch's own statistics
        with torch.no_grad():
            f = [
                module.net(to_images(batch[k]))["feature"]
                for k in ("anchor", "positive", "negative")
            ]
        return triplet_loss(*f, margin=0.3).item()

    module.train()
    before = loss_now()
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    for _ in range(10):
        loss, _ = module._losses(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = loss_now()
    assert after < 0.5 * before


def test_a_device_augmented_batch_is_augmented_after_its_transfer(crops):
    """augment_on=device inside Lightning: what training_step receives is the batch augmented by
    its own rows (the datamodule's on_after_batch_transfer), not the raw crops the loader sent."""
    from remots.data.batch_augment import augment_batch

    dm = _dm(crops, sampling="pk", num_instances=2, batch_size=8, augment_on="device")
    dm.setup("fit")
    raw = next(iter(dm.train_dataloader()))
    seen = []

    class Record(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            seen.append(batch)

    trainer = _fast_dev_trainer(callbacks=[Record()])
    trainer.fit(_module(), datamodule=dm)
    batch = seen[0]
    assert "augment" not in batch
    assert torch.equal(batch["images"], augment_batch(raw["images"], raw["augment"]))
    assert not torch.equal(batch["images"], raw["images"])


def test_a_crop_bank_batch_reaches_training_step_as_the_workers_batch_would(crops):
    """crops_on=device inside Lightning: the loader sends rows, on_after_batch_transfer slices
    them from the crop bank and augments them; training_step receives the very batch that the
    workers' crops give."""
    seen = {}

    for crops_on in ("loader", "device"):

        class Record(L.Callback):
            def on_train_batch_start(self, trainer, module, batch, batch_idx, key=crops_on):
                seen[key] = batch

        dm = _dm(
            crops, sampling="pk", num_instances=2, batch_size=8, augment_on="device",
            crops_on=crops_on,
        )  # fmt: skip
        _fast_dev_trainer(callbacks=[Record()]).fit(_module(), datamodule=dm)
    assert "items" not in seen["device"] and set(seen["device"]) == set(seen["loader"])
    assert all(torch.equal(seen["device"][k], seen["loader"][k]) for k in seen["loader"])


def test_deterministic_training_without_filling_memory_gives_the_same_weights(crops):
    """The training stage turns off PyTorch's filling of new memory under deterministic
    algorithms (16 % of a CPU step): reading no uninitialised memory, training must give the
    same weights bit for bit with and without the filling."""
    from remots.stages.train import keep_deterministic_fast

    def train(fill: bool) -> list[torch.Tensor]:
        module = _module()
        trainer = _fast_dev_trainer(deterministic=True)
        if fill:  # PyTorch's default, whatever an earlier test left
            torch.utils.deterministic.fill_uninitialized_memory = True
        else:
            keep_deterministic_fast()
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.utils.deterministic.fill_uninitialized_memory is fill
        trainer.fit(module, datamodule=_dm(crops))
        return [p.detach().clone() for p in module.parameters()]

    try:
        filled, unfilled = train(fill=True), train(fill=False)
    finally:
        torch.use_deterministic_algorithms(False)
        torch.utils.deterministic.fill_uninitialized_memory = True
    assert all(torch.equal(a, b) for a, b in zip(filled, unfilled, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(filled, _module().parameters(), strict=True))
