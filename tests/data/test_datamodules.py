import numpy as np
import pytest
import torch

from remots.data.datamodules import CropItems, SequenceCrops, TripletDataModule, split_identities


@pytest.fixture(scope="module")
def crops(small_crop_caches):
    tc, gc = small_crop_caches
    return SequenceCrops("train", tc, tc.obj_ids.copy()), SequenceCrops("t", gc, gc.obj_ids.copy())


def _dm(crops, phase="intra", **kw):
    train, target = crops
    labels = target.labels if phase == "inter" else np.zeros(len(target.labels), np.int64)
    args = dict(
        train=[train],
        target=[SequenceCrops("t", target.cache, labels)],
        phase=phase,
        batch_size=4,
        steps_per_epoch=3,
        val_fraction=0.5,
        num_val_triplets=8,
        seed=0,
    )
    args.update(kw)
    dm = TripletDataModule(**args)
    dm.setup("fit")
    return dm


def test_batches_hold_the_mix_labels_and_are_seeded(crops):
    dm = _dm(crops)
    batch = next(iter(dm.train_dataloader()))
    assert batch["anchor"].shape == (4, 32, 16, 3) and batch["anchor"].dtype == torch.uint8
    assert (batch["label"][:2] >= 0).all() and (batch["label"][2:] == -1).all()
    same = next(iter(_dm(crops).train_dataloader()))
    assert all(torch.equal(batch[k], same[k]) for k in batch)  # augmentations included
    other = next(iter(_dm(crops, seed=1).train_dataloader()))
    assert not torch.equal(batch["anchor"], other["anchor"])


def test_intra_positive_is_an_augmented_anchor_and_inter_keys_follow_tracklets(crops):
    dm = _dm(crops, augment=False)
    keys = next(iter(dm.batch_sampler))
    for source, a, p, n, _ in keys[2:]:
        assert a == p
        item = dm.train_dataset[(source, a, p, n, 0)]
        assert not torch.equal(item["anchor"], item["positive"])  # strong augmentation
    inter = _dm(crops, phase="inter")
    t = inter.target_items
    for _, a, p, n, _ in next(iter(inter.batch_sampler))[2:]:
        assert t.labels[a] == t.labels[p] != t.labels[n]
        assert t.frames[n] == t.frames[a] != t.frames[p]


def test_held_out_identities_are_disjoint_from_training_identities(crops):
    items = CropItems([crops[0]])
    train_label, val_label = split_identities(items, val_fraction=0.5, seed=0)
    held = set(items.labels[val_label >= 0])
    trained = set(items.labels[train_label >= 0])
    assert held and trained and not held & trained
    assert len(held) + len(trained) == len(set(items.labels))
    assert sorted(set(train_label[train_label >= 0])) == list(range(len(trained)))
    again = split_identities(items, val_fraction=0.5, seed=0)
    assert np.array_equal(again[0], train_label)


@pytest.mark.parametrize("sampling", ["pk", "triplets"])
def test_device_augmentation_batches_carry_raw_crops_and_the_loaders_draws(crops, sampling):
    """augment_on=device: the batch holds the crops as cut and each view's parameters; augmented
    (batch_augment) they are the loader's batch up to rounding and the erased boxes' noise."""
    from remots.data.batch_augment import COL, COLUMNS, augment_batch

    kw = dict(sampling=sampling, num_instances=2, batch_size=8 if sampling == "pk" else 4)
    loader = next(iter(_dm(crops, **kw).train_dataloader()))
    device = next(iter(_dm(crops, augment_on="device", **kw).train_dataloader()))
    keys = ["images"] if sampling == "pk" else ["anchor", "positive", "negative"]
    params = device["augment"].reshape(-1, len(keys), len(COLUMNS))
    assert params.dtype == torch.float64 and (params[..., COL["strong"]] > 0).any()
    for i, key in enumerate(keys):
        got = augment_batch(device[key], params[:, i]).numpy().astype(int)
        want = loader[key].numpy().astype(int)
        clean = (params[:, i, COL["erase1_h"]] == 0) & (params[:, i, COL["erase2_h"]] == 0)
        diff = np.abs(got - want)[clean.numpy()]
        assert clean.any() and diff.mean() < 1.0 and np.mean(diff <= 2) > 0.99, key
    assert all(torch.equal(loader[k], device[k]) for k in loader if k not in keys)


def test_augment_on_must_be_loader_or_device(crops):
    with pytest.raises(ValueError, match="augment_on"):
        _dm(crops, augment_on="gpu")


@pytest.mark.parametrize("sampling", ["pk", "triplets"])
def test_crop_bank_batches_equal_the_loaders_crops_byte_for_byte(crops, sampling):
    """crops_on=device: the workers send each view's row in the crop bank (training set, then
    target) instead of its pixels; sliced from the bank and augmented, the batch equals the one
    whose crops the workers read, byte for byte, for both samplers."""
    kw = dict(sampling=sampling, num_instances=2, batch_size=8 if sampling == "pk" else 4)
    kw["augment_on"] = "device"
    read = _dm(crops, **kw)
    banked = _dm(crops, crops_on="device", **kw)
    keys = ["images"] if sampling == "pk" else ["anchor", "positive", "negative"]
    for raw, rows in zip(read.train_dataloader(), banked.train_dataloader(), strict=True):
        assert not any(k in rows for k in keys)
        want_rows = rows["items"].reshape(-1)
        assert want_rows.dtype == torch.int64 and int(want_rows.max()) < len(
            banked.crop_bank(torch.device("cpu"))
        )
        raw_crops = torch.stack([raw[k] for k in keys], 1).reshape(-1, *raw[keys[0]].shape[1:])
        assert torch.equal(banked.crop_bank(torch.device("cpu"))[want_rows], raw_crops)
        got = banked.on_after_batch_transfer(rows, 0)
        want = read.on_after_batch_transfer(raw, 0)
        assert set(got) == set(want)
        assert all(torch.equal(got[k], want[k]) for k in want)


def test_crop_bank_holds_every_crop_in_item_order(crops):
    dm = _dm(crops, augment_on="device", crops_on="device")
    bank = dm.crop_bank(torch.device("cpu"))
    train, target = crops
    assert bank.dtype == torch.uint8 and len(bank) == len(train.cache) + len(target.cache)
    assert np.array_equal(bank[: len(train.cache)].numpy(), train.cache.crops)
    assert np.array_equal(bank[len(train.cache) :].numpy(), target.cache.crops)
    assert dm.crop_bank(torch.device("cpu")) is bank  # built once


def test_crops_on_device_needs_the_device_augmentation(crops):
    with pytest.raises(ValueError, match="crops_on"):
        _dm(crops, crops_on="device")
    with pytest.raises(ValueError, match="crops_on"):
        _dm(crops, augment_on="device", crops_on="gpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_crop_bank_on_cuda_gives_the_crops_the_workers_read(crops):
    """The bank copied to CUDA through pinned memory, sliced on the GPU: the same uint8 crops as
    the workers' batch moved to the GPU."""
    kw = dict(sampling="pk", num_instances=2, batch_size=8, augment_on="device", augment=False)
    read = next(iter(_dm(crops, **kw).train_dataloader()))
    banked = _dm(crops, crops_on="device", **kw)
    rows = next(iter(banked.train_dataloader()))
    cuda = torch.device("cuda")
    assert banked.crop_bank(cuda).device.type == "cuda"
    got = banked.crop_bank(cuda)[rows["items"].to(cuda)].cpu()
    assert torch.equal(got, read["images"])


def test_a_crop_bank_too_large_for_the_device_is_one_clear_error(crops, monkeypatch):
    """Stand-in for a GPU out of memory (no GPU here): the copy to the device raises
    torch.OutOfMemoryError, and the user gets the bank's size and the key to change instead."""
    from remots.errors import InputError

    dm = _dm(crops, augment_on="device", crops_on="device")

    def out_of_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory (stand-in)")

    monkeypatch.setattr(torch.Tensor, "to", out_of_memory)
    with pytest.raises(
        InputError, match=r"crops_on=device: the crop bank .* set model\.data\.crops_on=loader"
    ):
        dm.crop_bank(torch.device("cpu"))
