"""DataModules of the two training phases: triplets from crop caches, mixed training-set : target
(paper: 1:1), seeded and sharded by rank.

The training stages (``remots.stages.train``) build the crop caches and the labels; this module only
turns them into batches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from remots.data.augment import reid_augment, strong_augment
from remots.data.batch_augment import (
    COLUMNS,
    augment_batch,
    draw_noise_seed,
    draw_reid,
    draw_strong,
    draw_view,
)
from remots.data.crops import CropCache
from remots.data.samplers import (
    TARGET,
    TRAIN,
    GTIdentityPKSampler,
    GTTripletSampler,
    InterTrackletPKSampler,
    InterTrackletTripletSampler,
    IntraFramePKSampler,
    IntraFrameTripletSampler,
    MixedTripletBatchSampler,
    PKBatchSampler,
    split_counts,
)
from remots.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class SequenceCrops:
    """The crops of one sequence and what the samplers need to know of each row.

    labels: ``(N,)`` per crop row: the GT obj_id (training videos), the short-tracklet id (target
    videos, phase inter) or 0 (target videos, phase intra); -1 = not to be sampled (a class not
    tracked, a detection in no tracklet).
    """

    name: str
    cache: CropCache
    labels: np.ndarray


class CropItems:
    """Several sequences' crops seen as one list of items (global row numbers)."""

    def __init__(self, sequences: list[SequenceCrops]):
        self.sequences = sequences
        self._cache = [s.cache for s in sequences]
        self.seq_of_item = (
            np.concatenate([np.full(len(s.cache), g, np.int64) for g, s in enumerate(sequences)])
            if sequences
            else np.zeros(0, np.int64)
        )
        self.row_of_item = (
            np.concatenate([np.arange(len(s.cache), dtype=np.int64) for s in sequences])
            if sequences
            else np.zeros(0, np.int64)
        )
        self.frames = (
            np.concatenate([s.cache.frames for s in sequences])
            if sequences
            else np.zeros(0, np.int64)
        )
        self.labels = (
            np.concatenate([np.asarray(s.labels, np.int64) for s in sequences])
            if sequences
            else np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        return len(self.seq_of_item)

    def crop(self, item: int) -> np.ndarray:
        return np.array(self._cache[self.seq_of_item[item]].crops[self.row_of_item[item]])

    def crop_shape(self) -> tuple[int, ...] | None:
        """``(H, W, 3)`` of the crops, None without any."""
        for cache in self._cache:
            return tuple(cache.crops.shape[1:])
        return None

    def read_all(self, out: np.ndarray) -> None:
        """Every crop, in item order, into ``out`` ``(len(self), H, W, 3)`` uint8."""
        start = 0
        for cache in self._cache:
            out[start : start + len(cache)] = cache.crops
            start += len(cache)


def split_identities(
    items: CropItems, *, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Number the GT identities (group, obj_id) of the training videos and hold out a part.

    Returns ``train_label (N,)``: 0..num_train_identities-1 for training identities, -1
    otherwise; ``val_label (N,)``: a label for held-out identities, -1 otherwise. The held-out
    identities are drawn with ``np.random.default_rng(seed)``.
    """
    used = items.labels >= 0
    keys = sorted(
        {(int(g), int(o)) for g, o in zip(items.seq_of_item[used], items.labels[used], strict=True)}
    )
    rng = np.random.default_rng(seed)
    n_val = round(len(keys) * val_fraction)
    if n_val == 1:
        n_val = 2  # one identity alone gives no negative
    if len(keys) - n_val < 2:
        n_val = 0
    held_out = {keys[i] for i in rng.choice(len(keys), n_val, replace=False)} if n_val else set()
    train_ids = {k: j for j, k in enumerate(k for k in keys if k not in held_out)}
    val_ids = {k: j for j, k in enumerate(k for k in keys if k in held_out)}
    train_label = np.full(len(items), -1, np.int64)
    val_label = np.full(len(items), -1, np.int64)
    for i in np.flatnonzero(used):
        key = (int(items.seq_of_item[i]), int(items.labels[i]))
        if key in train_ids:
            train_label[i] = train_ids[key]
        else:
            val_label[i] = val_ids[key]
    return train_label, val_label


class TripletDataset(Dataset):
    """Loads triplet keys ``(source, anchor, positive, negative, seed)`` from the crop caches.

    Returns a dict of uint8 ``(H, W, 3)`` tensors ``anchor`` / ``positive`` / ``negative``, the
    anchor's GT identity ``label`` (-1 for target triplets), ``frame`` and ``group``. Every
    sample gets Luo et al.'s re-ID augmentation when ``augment``; the positive of an intra-frame
    triplet (same crop as the anchor) gets the strong augmentation on top. With ``augment_on``
    ``device`` the crops are returned as they are, with ``augment``: float64 ``(3, len(COLUMNS))``,
    each crop's parameters (``remots.data.batch_augment``), drawn from the same seed. With
    ``crops_on`` ``device`` (needs ``augment_on`` ``device``) no crop is read: ``items`` int64
    ``(3,)`` are the three crops' rows in the crop bank (``TripletDataModule``), and the batch is
    gathered from it where it trains.
    """

    def __init__(
        self,
        train: CropItems,
        target: CropItems,
        train_label: np.ndarray,
        *,
        intra_frame: bool,
        augment: bool = True,
        erasing: float = 0.5,
        colour_jitter: float = 1.0,
        augment_on: str = "loader",
        crops_on: str = "loader",
    ):
        self.sources = {TRAIN: train, TARGET: target}
        self.bank_offset = {TRAIN: 0, TARGET: len(train)}
        self.gather = crops_on == "device"
        self.colour_jitter = colour_jitter
        self.train_label = train_label
        self.intra_frame = intra_frame
        self.augment = augment
        self.erasing = erasing
        self.on_device = augment_on == "device"

    def __len__(self) -> int:  # keys come from the batch sampler; this is only informative
        return sum(len(s) for s in self.sources.values())

    def __getitem__(self, key) -> dict:
        source, a, p, n, seed = key
        items = self.sources[source]
        rng = np.random.default_rng(seed)
        strong = source == TARGET and self.intra_frame
        out = {}
        if self.gather:
            bank_rows = np.array([a, p, n], np.int64) + self.bank_offset[source]
            out["items"] = torch.from_numpy(bank_rows)
            h, w = items.crop_shape()[:2]
        else:
            crops = [items.crop(a), items.crop(p), items.crop(n)]
            h, w = crops[0].shape[:2]
        if self.on_device:  # the same draws, in the same order, applied to the batch later
            rows = np.zeros((3, len(COLUMNS)), np.float64)
            if strong:
                draw_strong(rows[1], rng, h, w, colour_jitter=self.colour_jitter)
            for row in rows if self.augment else ():
                draw_reid(row, rng, h, w, erasing=self.erasing)
            for row in rows:
                draw_noise_seed(row, rng)
            out["augment"] = torch.from_numpy(rows)
        else:
            if strong:
                crops[1] = strong_augment(crops[1], rng, colour_jitter_strength=self.colour_jitter)
            if self.augment:
                crops = [reid_augment(c, rng, erasing=self.erasing) for c in crops]
        label = int(self.train_label[a]) if source == TRAIN else -1
        if not self.gather:
            for key, crop in zip(("anchor", "positive", "negative"), crops, strict=True):
                out[key] = torch.from_numpy(np.ascontiguousarray(crop))
        return out | {
            "label": torch.tensor(label, dtype=torch.int64),
            "frame": torch.tensor(int(items.frames[a]), dtype=torch.int64),
            "group": torch.tensor(int(items.seq_of_item[a]), dtype=torch.int64),
        }


class PKDataset(Dataset):
    """Loads a whole P x K batch (a ``PKBatchSampler`` dict) from the crop caches.

    Returns ``images`` uint8 ``(B, H, W, 3)``, ``positives`` / ``negatives`` bool ``(B, B)``,
    ``label (B,)`` (GT identity of training-set views, -1 for target views). Every view gets Luo
    et al.'s re-ID augmentation when ``augment``; a ``strong`` view (a repeated crop, the
    positive of its first view) gets the strong augmentation first. With ``augment_on``
    ``device`` the crops are returned as they are, with ``augment``: float64
    ``(B, len(COLUMNS))``, each view's parameters (``remots.data.batch_augment``). With
    ``crops_on`` ``device`` no crop is read: ``items`` int64 ``(B,)`` are the views' rows in the
    crop bank (``TripletDataModule``), gathered where the batch trains.
    """

    def __init__(
        self,
        train: CropItems,
        target: CropItems,
        train_label: np.ndarray,
        *,
        augment: bool = True,
        erasing: float = 0.5,
        colour_jitter: float = 1.0,
        augment_on: str = "loader",
        crops_on: str = "loader",
    ):
        self.sources = {TRAIN: train, TARGET: target}
        self.bank_offset = {TRAIN: 0, TARGET: len(train)}
        self.gather = crops_on == "device"
        self.train_label = train_label
        self.augment, self.erasing, self.colour_jitter = augment, erasing, colour_jitter
        self.on_device = augment_on == "device"

    def __len__(self) -> int:  # specs come from the batch sampler; this is only informative
        return sum(len(s) for s in self.sources.values())

    def __getitem__(self, spec: dict) -> dict:
        crops, labels, rows, bank_rows = [], [], [], []
        for source, item, strong, seed in zip(
            spec["source"], spec["item"], spec["strong"], spec["seed"], strict=True
        ):
            rng = np.random.default_rng(int(seed))
            items = self.sources[int(source)]
            if self.gather:
                bank_rows.append(int(item) + self.bank_offset[int(source)])
                shape = items.crop_shape()
            else:
                crop = items.crop(int(item))
                shape = crop.shape
            if self.on_device:  # the same draws, applied to the batch later
                rows.append(
                    draw_view(
                        rng,
                        *shape[:2],
                        strong=bool(strong),
                        augment=self.augment,
                        erasing=self.erasing,
                        colour_jitter=self.colour_jitter,
                    )
                )
            else:
                if strong:
                    crop = strong_augment(crop, rng, colour_jitter_strength=self.colour_jitter)
                if self.augment:
                    crop = reid_augment(crop, rng, erasing=self.erasing)
            if not self.gather:
                crops.append(np.ascontiguousarray(crop))
            labels.append(int(self.train_label[item]) if source == TRAIN else -1)
        out = {"augment": torch.from_numpy(np.stack(rows))} if rows else {}
        if self.gather:
            out["items"] = torch.tensor(bank_rows, dtype=torch.int64)
        else:
            out["images"] = torch.from_numpy(np.stack(crops))
        return out | {
            "positives": torch.from_numpy(spec["positives"]),
            "negatives": torch.from_numpy(spec["negatives"]),
            "label": torch.tensor(labels, dtype=torch.int64),
        }


class _ValTriplets(Dataset):
    def __init__(self, items: CropItems, triplets: np.ndarray, val_label: np.ndarray):
        self.items, self.triplets, self.val_label = items, triplets, val_label

    def __len__(self) -> int:
        return len(self.triplets)

    def __getitem__(self, i: int) -> dict:
        a, p, n = (int(v) for v in self.triplets[i])
        return {
            "anchor": torch.from_numpy(self.items.crop(a)),
            "positive": torch.from_numpy(self.items.crop(p)),
            "negative": torch.from_numpy(self.items.crop(n)),
            "label": torch.tensor(int(self.val_label[a]), dtype=torch.int64),
            "frame": torch.tensor(int(self.items.frames[a]), dtype=torch.int64),
            "group": torch.tensor(int(self.items.seq_of_item[a]), dtype=torch.int64),
        }


class TripletDataModule(L.LightningDataModule):
    """Mixed training-set / target-video triplets for one training phase.

    Args:
        train: GT crops of the training videos (labels = obj_id, -1 = ignore); may be empty.
        target: crops of the target videos' detections (labels as in ``SequenceCrops``).
        phase: ``intra`` (intra-frame triplets, section 2.2) or ``inter`` (inter-short-tracklet
            triplets, section 2.4).
        sampling: ``pk`` (P objects x K views per batch with their known-negative masks, for
            batch-hard mining) or ``triplets`` (independent triplets, the first reading).
        batch_size: ``pk``: views per batch (P x K); ``triplets``: triplets per batch (3 x
            batch_size crops go through the encoder).
        num_instances: K of ``pk``.
        ratio: training-set : target triplets per batch (1:1 in the paper).
        steps_per_epoch: batches per epoch and rank.
        val_fraction: share of the training set's GT identities held out for validation.
        num_val_triplets: fixed validation triplets drawn from the held-out identities.
        augment_on: ``loader`` (workers augment each crop) or ``device`` (workers draw the
            parameters; ``on_after_batch_transfer`` augments the batch where it trains).
        crops_on: ``loader`` (workers read each crop from the caches and the batch is copied to
            the device) or ``device`` (with ``augment_on=device``): every crop of the phase is
            one uint8 array, the crop bank, copied once to the training device (through pinned
            memory on CUDA); the workers send only rows and parameters, and
            ``on_after_batch_transfer`` slices the batch from the bank. The same batches, byte
            for byte.
        seed: drives the identity split, the validation triplets and every batch.
    """

    def __init__(
        self,
        *,
        train: list[SequenceCrops],
        target: list[SequenceCrops],
        phase: str = "intra",
        sampling: str = "triplets",
        batch_size: int = 32,
        num_instances: int = 4,
        ratio: tuple[int, int] | list[int] = (1, 1),
        steps_per_epoch: int = 100,
        val_fraction: float = 0.2,
        num_val_triplets: int = 128,
        num_workers: int = 0,
        augment: bool = True,
        erasing: float = 0.5,
        colour_jitter: float = 1.0,
        augment_on: str = "loader",
        crops_on: str = "loader",
        seed: int = 0,
    ):
        super().__init__()
        if augment_on not in ("loader", "device"):
            raise ValueError(f"augment_on must be 'loader' or 'device', not {augment_on!r}")
        if crops_on not in ("loader", "device"):
            raise ValueError(f"crops_on must be 'loader' or 'device', not {crops_on!r}")
        if crops_on == "device" and augment_on != "device":
            raise ValueError("crops_on='device' needs augment_on='device'")
        if phase not in ("intra", "inter"):
            raise ValueError(f"phase must be 'intra' or 'inter', not {phase!r}")
        if sampling not in ("pk", "triplets"):
            raise ValueError(f"sampling must be 'pk' or 'triplets', not {sampling!r}")
        self.phase = phase
        self.sampling = sampling
        self.num_instances = num_instances
        self.train_items = CropItems(train)
        self.target_items = CropItems(target)
        self.batch_size = batch_size
        self.ratio = tuple(ratio)
        self.steps_per_epoch = steps_per_epoch
        self.num_val_triplets = num_val_triplets
        self.num_workers = num_workers
        self.augment, self.erasing = augment, erasing
        self.colour_jitter = colour_jitter
        self.augment_on = augment_on
        self.crops_on = crops_on
        self._bank: torch.Tensor | None = None
        self.seed = seed
        self.train_label, self.val_label = split_identities(
            self.train_items, val_fraction=val_fraction, seed=seed
        )
        self.num_identities = int(self.train_label.max() + 1) if len(self.train_label) else 0
        self.batch_sampler: MixedTripletBatchSampler | None = None

    def target_views_per_step(self) -> int:
        """Target-video crops one training step shows: ``pk``: its target objects x K views;
        ``triplets``: 3 crops per target triplet."""
        if self.sampling == "pk":
            p_target = split_counts(self.batch_size // self.num_instances, self.ratio)[1]
            return p_target * self.num_instances
        return 3 * split_counts(self.batch_size, self.ratio)[1]

    @property
    def num_target_crops(self) -> int:
        """Target-video crops the phase can train on (those with a label: every detection for
        intra, the detections in a short tracklet for inter)."""
        return int(np.count_nonzero(self.target_items.labels >= 0))

    def _samplers(self):
        """The training-set and target triplet samplers; a source that can form no triplet
        (no identity seen twice, no frame with two detections, no overlapping tracklets) is
        left out with a warning and the other fills the batches."""
        pk = self.sampling == "pk"
        t = self.train_items
        known = np.flatnonzero(self.train_label >= 0)
        train_sampler = (
            _or_none(
                "training-set",
                lambda: (GTIdentityPKSampler if pk else GTTripletSampler)(
                    items=known,
                    identities=self.train_label[known],
                    frames=t.frames[known],
                    groups=t.seq_of_item[known],
                ),
            )
            if len(known)
            else None
        )
        g = self.target_items
        use = np.flatnonzero(g.labels >= 0)
        if len(use) == 0:
            target_sampler = None
        elif self.phase == "intra":
            target_sampler = _or_none(
                "intra-frame",
                lambda: (IntraFramePKSampler if pk else IntraFrameTripletSampler)(
                    items=use, frames=g.frames[use], groups=g.seq_of_item[use]
                ),
            )
        else:
            target_sampler = _or_none(
                "inter-short-tracklet",
                lambda: (InterTrackletPKSampler if pk else InterTrackletTripletSampler)(
                    items=use,
                    frames=g.frames[use],
                    groups=g.seq_of_item[use],
                    tracklets=g.labels[use],
                ),
            )
        if train_sampler is None and target_sampler is None:
            raise InputError(
                f"no {self.phase} training triplet can be formed from the training videos' GT or "
                "the target videos' detections (see the warnings above)"
            )
        return train_sampler, target_sampler

    def setup(self, stage: str | None = None) -> None:
        rank, world_size, start_batch = 0, 1, None
        if self.trainer is not None:
            trainer = self.trainer
            rank, world_size = trainer.global_rank, trainer.world_size

            def start_batch() -> int:
                # batches already trained on, from the restored step count: a resumed run
                # continues the stream where it stopped (Lightning's epoch number need not)
                return int(trainer.global_step) * int(trainer.accumulate_grad_batches)

        train_sampler, target_sampler = self._samplers()
        common = {
            "train_sampler": train_sampler,
            "target_sampler": target_sampler,
            "batch_size": self.batch_size,
            "ratio": self.ratio,
            "num_batches": self.steps_per_epoch,
            "seed": self.seed,
            "rank": rank,
            "world_size": world_size,
            "start_batch": start_batch,
        }
        augment = {"augment": self.augment, "erasing": self.erasing}
        augment["colour_jitter"] = self.colour_jitter
        augment["augment_on"] = self.augment_on
        augment["crops_on"] = self.crops_on
        if self.sampling == "pk":
            self.batch_sampler = PKBatchSampler(num_instances=self.num_instances, **common)
            self.train_dataset = PKDataset(
                self.train_items, self.target_items, self.train_label, **augment
            )
        else:
            self.batch_sampler = MixedTripletBatchSampler(**common)
            self.train_dataset = TripletDataset(
                self.train_items,
                self.target_items,
                self.train_label,
                intra_frame=self.phase == "intra",
                **augment,
            )
        held = np.flatnonzero(self.val_label >= 0)
        self.val_dataset = None
        if len(held) and self.num_val_triplets > 0:
            t = self.train_items
            sampler = GTTripletSampler(
                items=held,
                identities=self.val_label[held],
                frames=t.frames[held],
                groups=t.seq_of_item[held],
            )
            triplets = sampler.sample(np.random.default_rng([self.seed, 1]), self.num_val_triplets)
            # every rank validates its own share of the fixed triplets
            self.val_dataset = _ValTriplets(t, triplets[rank::world_size], self.val_label)

    def crop_bank(self, device: torch.device) -> torch.Tensor:
        """Every crop of the phase, training set then target, as one uint8 ``(N, H, W, 3)``
        tensor on ``device`` (built on the first call: read once from the memory-mapped caches
        into pinned memory when ``device`` is CUDA, then copied)."""
        if self._bank is not None and self._bank.device == device:
            return self._bank
        shape = self.train_items.crop_shape() or self.target_items.crop_shape()
        n_train = len(self.train_items)
        cuda = device.type == "cuda"
        bank = torch.empty((n_train + len(self.target_items), *shape), dtype=torch.uint8)
        if cuda:
            bank = bank.pin_memory()
        self.train_items.read_all(bank[:n_train].numpy())
        self.target_items.read_all(bank[n_train:].numpy())
        try:
            self._bank = bank.to(device, non_blocking=cuda)
        except torch.OutOfMemoryError:
            raise InputError(
                f"model.data.crops_on=device: the crop bank ({bank.nbytes / 2**30:.1f} GiB, "
                f"{len(bank)} crops) does not fit on {device}; set model.data.crops_on=loader"
            ) from None
        log.info(
            "crop bank: %d crops, %.1f MiB on %s", len(bank), bank.nbytes / 2**20, device
        )  # fmt: skip
        return self._bank

    def with_crops(self, batch: dict) -> dict:
        """A ``crops_on=device`` batch with its crops sliced from the crop bank in place of their
        rows (``items``); any other batch as it is."""
        if "items" not in batch:
            return batch
        batch = dict(batch)
        items = batch.pop("items")
        bank = self.crop_bank(items.device)
        if items.dim() == 1:
            batch["images"] = bank[items]
        else:  # triplets: items (B, 3)
            for i, key in enumerate(("anchor", "positive", "negative")):
                batch[key] = bank[items[:, i]]
        return batch

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """A training batch of ``augment_on=device`` carries its crops as they are (or, with
        ``crops_on=device``, their rows in the crop bank: ``with_crops``) and each view's
        parameters (``augment``): it is augmented here, on the device that trains."""
        if not isinstance(batch, dict) or "augment" not in batch:
            return batch
        batch = dict(self.with_crops(batch))  # a copy: the loader's batch stays whole
        params = batch.pop("augment")
        if "images" in batch:
            batch["images"] = augment_batch(batch["images"], params)
        else:  # triplets: params (B, 3, columns), one row per anchor / positive / negative
            for i, key in enumerate(("anchor", "positive", "negative")):
                batch[key] = augment_batch(batch[key], params[:, i])
        return batch

    def _loader_kwargs(self) -> dict:
        """Workers kept between epochs; batches in pinned memory when training on CUDA (so the
        copy to the GPU runs asynchronously)."""
        cuda = self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"
        return {
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
            "pin_memory": cuda,
        }

    def train_dataloader(self) -> DataLoader:
        if self.sampling == "pk":  # the dataset loads whole batches: no collation
            return DataLoader(
                self.train_dataset,
                sampler=self.batch_sampler,
                batch_size=None,
                **self._loader_kwargs(),
            )
        return DataLoader(
            self.train_dataset, batch_sampler=self.batch_sampler, **self._loader_kwargs()
        )

    def val_dataloader(self):
        if self.val_dataset is None:
            return []
        return DataLoader(
            self.val_dataset, batch_size=self.batch_size, shuffle=False, **self._loader_kwargs()
        )


def _or_none(what: str, build):
    try:
        return build()
    except ValueError as err:
        log.warning("no %s triplets: %s; batches use the other source only", what, err)
        return None
