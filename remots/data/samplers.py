"""Triplet samplers of ReMOTS (paper, sections 2.2 and 2.4, Figures 2 and 3) and the batch
sampler that mixes training-set and target-video triplets 1:1.

Every sampler works on *items*: global row numbers into the concatenated crop caches of a
DataModule, described by parallel ``(N,)`` arrays (frame, group = sequence index, identity or
short-tracklet id). ``sample(rng, k)`` returns ``(k, 3)`` int64 rows (anchor, positive, negative)
and draws only from the generator it is given.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch.utils.data

TRAIN, TARGET = 0, 1  # the source of a triplet


def _check_lengths(**arrays) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"item arrays differ in length: {lengths}")
    return next(iter(lengths.values()))


class GTTripletSampler:
    """Training-set triplets from ground-truth tracklets (Fig. 2, left): anchor and positive of
    one identity at different frames, negative of another identity (of the same sequence when it
    has another, else of any sequence).

    identities: ``(N,)`` globally unique identity labels; frames, groups: ``(N,)``.
    """

    augment_positive = False

    def __init__(
        self, *, items: np.ndarray, identities: np.ndarray, frames: np.ndarray, groups: np.ndarray
    ):
        _check_lengths(items=items, identities=identities, frames=frames, groups=groups)
        self.items = np.asarray(items, np.int64)
        self.identities = np.asarray(identities)
        self.frames = np.asarray(frames)
        self.groups = np.asarray(groups)
        by_identity = defaultdict(list)
        for k, ident in enumerate(self.identities):
            by_identity[ident].append(k)
        self._members = {i: np.asarray(m) for i, m in by_identity.items()}
        self._anchors = np.asarray(
            [
                k
                for k in range(len(self.items))
                if len(np.unique(self.frames[self._members[self.identities[k]]])) >= 2
            ],
            np.int64,
        )
        if len(self._anchors) == 0 or len(self._members) < 2:
            raise ValueError(
                "the training set has no identity seen in two frames, or fewer than two identities"
            )
        self._negatives_of_group = {}
        for g in np.unique(self.groups):
            in_group = np.flatnonzero(self.groups == g)
            self._negatives_of_group[g] = in_group

    def __len__(self) -> int:
        return len(self._anchors)

    def sample(self, rng: np.random.Generator, k: int) -> np.ndarray:
        out = np.empty((k, 3), np.int64)
        for j in range(k):
            a = self._anchors[rng.integers(len(self._anchors))]
            members = self._members[self.identities[a]]
            positives = members[self.frames[members] != self.frames[a]]
            p = positives[rng.integers(len(positives))]
            pool = self._negatives_of_group[self.groups[a]]
            pool = pool[self.identities[pool] != self.identities[a]]
            if len(pool) == 0:
                pool = np.flatnonzero(self.identities != self.identities[a])
            n = pool[rng.integers(len(pool))]
            out[j] = self.items[[a, p, n]]
        return out


class IntraFrameTripletSampler:
    """Target-video triplets from one frame (section 2.2, Fig. 2, right): anchor a detection,
    positive a strong augmentation of the same crop, negative another detection of the same frame
    (masks are exclusive after NMS, so two detections of one frame are two objects).

    frames, groups: ``(N,)`` of the detections.
    """

    augment_positive = True

    def __init__(self, *, items: np.ndarray, frames: np.ndarray, groups: np.ndarray):
        _check_lengths(items=items, frames=frames, groups=groups)
        self.items = np.asarray(items, np.int64)
        by_frame = defaultdict(list)
        for k, key in enumerate(
            zip(np.asarray(groups).tolist(), np.asarray(frames).tolist(), strict=True)
        ):
            by_frame[key].append(k)
        self._frames = [np.asarray(v) for _, v in sorted(by_frame.items()) if len(v) >= 2]
        if not self._frames:
            raise ValueError("no frame of the target videos has two detections")
        self._anchors = np.concatenate(self._frames)
        self._frame_of_anchor = np.concatenate(
            [np.full(len(v), f) for f, v in enumerate(self._frames)]
        )

    def __len__(self) -> int:
        return len(self._anchors)

    def sample(self, rng: np.random.Generator, k: int) -> np.ndarray:
        out = np.empty((k, 3), np.int64)
        for j in range(k):
            i = rng.integers(len(self._anchors))
            a = self._anchors[i]
            same_frame = self._frames[self._frame_of_anchor[i]]
            others = same_frame[same_frame != a]
            n = others[rng.integers(len(others))]
            out[j] = self.items[[a, a, n]]
        return out


class InterTrackletTripletSampler:
    """Target-video triplets from short-term tracklets (section 2.4, Fig. 3): pick a frame, two
    tracklets present in it, and another frame of one of them; anchor (in the picked frame) and
    positive from that tracklet, negative from the other tracklet in the picked frame. Both
    tracklets are present in one frame, so they overlap in time and hold different identities;
    temporally disjoint tracklets never meet as negatives.

    frames, groups, tracklets: ``(N,)``; tracklet ids are per group, -1 = in no tracklet.
    """

    augment_positive = False

    def __init__(
        self, *, items: np.ndarray, frames: np.ndarray, groups: np.ndarray, tracklets: np.ndarray
    ):
        _check_lengths(items=items, frames=frames, groups=groups, tracklets=tracklets)
        self.items = np.asarray(items, np.int64)
        frames, groups, tracklets = (np.asarray(v) for v in (frames, groups, tracklets))
        members = defaultdict(list)
        for k in np.flatnonzero(tracklets >= 0):
            members[(int(groups[k]), int(tracklets[k]))].append(k)
        self._members = {key: np.asarray(v) for key, v in members.items()}
        long_enough = {key for key, v in self._members.items() if len(v) >= 2}
        present = defaultdict(list)  # (group, frame) -> [(tracklet key, item)]
        for key, ks in self._members.items():
            for k in ks:
                present[(key[0], int(frames[k]))].append((key, k))
        self._frame_entries = []
        for fkey in sorted(present):
            entries = sorted(present[fkey])
            if len(entries) >= 2 and any(e[0] in long_enough for e in entries):
                self._frame_entries.append(entries)
        if not self._frame_entries:
            raise ValueError(
                "no frame holds two short tracklets of which one spans two frames: no "
                "inter-short-tracklet triplet exists"
            )
        self._long_enough = long_enough

    def __len__(self) -> int:
        return sum(len(e) for e in self._frame_entries)

    def sample(self, rng: np.random.Generator, k: int) -> np.ndarray:
        out = np.empty((k, 3), np.int64)
        for j in range(k):
            entries = self._frame_entries[rng.integers(len(self._frame_entries))]
            anchors = [e for e in entries if e[0] in self._long_enough]
            key_a, a = anchors[rng.integers(len(anchors))]
            negatives = [e for e in entries if e[0] != key_a]
            _, n = negatives[rng.integers(len(negatives))]
            others = self._members[key_a][self._members[key_a] != a]
            p = others[rng.integers(len(others))]
            out[j] = self.items[[a, p, n]]
        return out


def split_counts(batch_size: int, ratio: tuple[int, int] | list[int]) -> tuple[int, int]:
    """(training-set, target) triplets per batch for ``ratio`` = (train : target); exact, so
    ``batch_size`` must be a multiple of ``sum(ratio)``."""
    r_train, r_target = (int(r) for r in ratio)
    if r_train < 0 or r_target < 0 or r_train + r_target == 0:
        raise ValueError(f"ratio {ratio} must be two non-negative integers, not both 0")
    if batch_size % (r_train + r_target):
        raise ValueError(
            f"batch_size {batch_size} is not a multiple of {r_train + r_target}: the ratio "
            f"{r_train}:{r_target} cannot hold exactly in every batch"
        )
    unit = batch_size // (r_train + r_target)
    return unit * r_train, unit * r_target


class MixedTripletBatchSampler(torch.utils.data.Sampler):
    """Batches of triplet keys ``(source, anchor, positive, negative, seed)``: ``n_train``
    training-set triplets then ``n_target`` target triplets, in the exact ratio (paper: 1:1).

    Batches of epoch e come from ``np.random.default_rng([seed, e])``: the same seed gives the
    same batches. Under DDP each rank takes every ``world_size``-th batch of one common stream
    (``rank`` / ``world_size``), so nothing depends on running as one process. ``seed`` of a
    triplet drives its augmentation, wherever it is loaded.
    """

    def __init__(
        self,
        *,
        train_sampler=None,
        target_sampler=None,
        batch_size: int,
        ratio: tuple[int, int] | list[int] = (1, 1),
        num_batches: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        if train_sampler is None and target_sampler is None:
            raise ValueError("no triplet source: neither training-set nor target triplets")
        ratio = tuple(ratio)
        if train_sampler is None:
            ratio = (0, 1)
        if target_sampler is None:
            ratio = (1, 0)
        self.n_train, self.n_target = split_counts(batch_size, ratio)
        self.train_sampler, self.target_sampler = train_sampler, target_sampler
        self.batch_size = batch_size
        self.num_batches = num_batches
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, rng: np.random.Generator) -> list[tuple[int, int, int, int, int]]:
        keys = []
        for source, sampler, k in (
            (TRAIN, self.train_sampler, self.n_train),
            (TARGET, self.target_sampler, self.n_target),
        ):
            if k == 0:
                continue
            triplets = sampler.sample(rng, k)
            seeds = rng.integers(0, 2**31 - 1, size=k)
            keys += [
                (source, int(a), int(p), int(n), int(s))
                for (a, p, n), s in zip(triplets, seeds, strict=True)
            ]
        return keys

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        for b in range(self.num_batches * self.world_size):
            keys = self.batch(rng)
            if b % self.world_size == self.rank:
                yield keys
