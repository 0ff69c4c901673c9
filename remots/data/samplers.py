"""Triplet samplers of ReMOTS (paper, sections 2.2 and 2.4, Figures 2 and 3) and the batch
sampler that mixes training-set and target-video triplets 1:1.

Every sampler works on *items*: global row numbers into the concatenated crop caches of a
DataModule, described by parallel ``(N,)`` arrays (frame, group = sequence index, identity or
short-tracklet id). ``sample(rng, k)`` returns ``(k, 3)`` int64 rows (anchor, positive, negative)
and draws only from the generator it is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

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


class _BatchStream(torch.utils.data.Sampler):
    """What the two batch samplers share: the training-set and target sources (a missing one
    gives the other the whole batch), and the common stream of batches. Batch b comes from
    ``np.random.default_rng([seed, b])``; an epoch starts at ``start_batch()`` (the batches this
    rank has trained on: a resumed run continues the stream exactly) or, without it, at
    ``epoch * num_batches``; under DDP rank r takes the batches ``b % world_size == r``."""

    def __init__(
        self,
        train_sampler,
        target_sampler,
        ratio,
        *,
        num_batches: int,
        seed: int,
        rank: int,
        world_size: int,
        start_batch: Callable[[], int] | None,
        what: str,
    ):
        if train_sampler is None and target_sampler is None:
            raise ValueError(f"no source of {what}: neither training-set nor target")
        ratio = tuple(ratio)
        if train_sampler is None:
            ratio = (0, 1)
        if target_sampler is None:
            ratio = (1, 0)
        self.ratio = ratio
        self.num_batches = num_batches
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.start_batch = start_batch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, rng: np.random.Generator):
        raise NotImplementedError

    def __iter__(self):
        done = self.start_batch() if self.start_batch else self.epoch * self.num_batches
        first = done * self.world_size + self.rank
        for b in range(first, first + self.num_batches * self.world_size, self.world_size):
            yield self.batch(np.random.default_rng([self.seed, b]))


class MixedTripletBatchSampler(_BatchStream):
    """Batches of triplet keys ``(source, anchor, positive, negative, seed)``: ``n_train``
    training-set triplets then ``n_target`` target triplets, in the exact ratio (paper: 1:1).

    Batch b of one common stream comes from ``np.random.default_rng([seed, b])``: the same seed
    gives the same batches. An epoch starts at ``start_batch()`` (the batches this rank has
    trained on: a resumed run continues the stream exactly) or, without it, at
    ``epoch * num_batches``; every epoch draws new batches. Under DDP rank r takes the batches
    ``b % world_size == r``, so nothing depends on running as one process. ``seed`` of a triplet
    drives its augmentation, wherever it is loaded.
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
        start_batch: Callable[[], int] | None = None,
    ):
        super().__init__(
            train_sampler, target_sampler, ratio, num_batches=num_batches, seed=seed, rank=rank,
            world_size=world_size, start_batch=start_batch, what="triplets",
        )  # fmt: skip
        self.n_train, self.n_target = split_counts(batch_size, self.ratio)
        self.train_sampler, self.target_sampler = train_sampler, target_sampler
        self.batch_size = batch_size

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


# ----------------------------------------------------------------------------- P x K batches
# Luo et al.'s batches for batch-hard mining: P objects x K views of each. What makes two rows of
# a batch a known negative differs per source (GT identities, one frame, overlapping tracklets),
# so every sampler returns its masks with its rows.


class PKGroup:
    """One source's share of a P x K batch.

    items: ``(n,)`` global item rows; pids: ``(n,)`` object id within the share (same pid = same
    object, a positive pair); negatives: ``(n, n)`` bool, known different objects; strong:
    ``(n,)`` bool, a repeated crop that gets the strong augmentation to be a positive of its
    first view (paper, section 2.2: "we create a positive sample by augmenting an anchor").
    """

    def __init__(self, items, pids, negatives, strong):
        self.items = np.asarray(items, np.int64)
        self.pids = np.asarray(pids, np.int64)
        self.negatives = np.asarray(negatives, bool)
        self.strong = np.asarray(strong, bool)
        n = len(self.items)
        if self.pids.shape != (n,) or self.negatives.shape != (n, n) or self.strong.shape != (n,):
            raise ValueError("PKGroup arrays differ in length")
        if (self.negatives & (self.pids[:, None] == self.pids[None, :])).any():
            raise ValueError("two views of one object are marked as negatives")

    def __len__(self) -> int:
        return len(self.items)


def _views(members: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``k`` rows of one object: distinct members while there are enough, then repeats (marked
    strong, to be augmented into positives of the original)."""
    members = rng.permutation(members)
    distinct = members[:k]
    repeats = distinct[rng.integers(len(distinct), size=k - len(distinct))]
    rows = np.concatenate([distinct, repeats])
    return rows, np.arange(k) >= len(distinct)


class GTIdentityPKSampler:
    """P GT identities x K masks of each from the training videos: positives share the identity,
    every other identity is a known negative. Identities come from the first identity's sequence
    first (same scene, harder negatives), then from the others.

    identities, frames, groups: ``(N,)`` of the items (identity labels globally unique).
    """

    def __init__(
        self, *, items: np.ndarray, identities: np.ndarray, frames: np.ndarray, groups: np.ndarray
    ):
        _check_lengths(items=items, identities=identities, frames=frames, groups=groups)
        self.items = np.asarray(items, np.int64)
        self.identities = np.asarray(identities)
        frames, groups = np.asarray(frames), np.asarray(groups)
        members = defaultdict(list)
        for k, ident in enumerate(self.identities.tolist()):
            members[ident].append(k)
        self._members = {i: np.asarray(m) for i, m in members.items()}
        self._ids = [i for i, m in self._members.items() if len(np.unique(frames[m])) >= 2]
        if len(self._ids) == 0 or len(self._members) < 2:
            raise ValueError(
                "the training set has no identity seen in two frames, or fewer than two identities"
            )
        self._group_of_id = {i: int(groups[self._members[i][0]]) for i in self._ids}

    def __len__(self) -> int:
        return len(self.items)

    def sample_pk(self, rng: np.random.Generator, p: int, k: int) -> PKGroup:
        first = self._ids[int(rng.integers(len(self._ids)))]
        group = self._group_of_id[first]
        same = [i for i in self._ids if self._group_of_id[i] == group and i != first]
        other = [i for i in self._ids if self._group_of_id[i] != group]
        chosen = [first, *(same[j] for j in rng.permutation(len(same)))]
        chosen = [*chosen, *(other[j] for j in rng.permutation(len(other)))][:p]
        rows, strong = [], []
        for ident in chosen:
            r, s = _views(self._members[ident], k, rng)
            rows.append(r)
            strong.append(s)
        pids = np.repeat(np.arange(len(chosen)), k)
        return PKGroup(
            self.items[np.concatenate(rows)],
            pids,
            pids[:, None] != pids[None, :],
            np.concatenate(strong),
        )


class IntraFramePKSampler:
    """Target-video P x K batches from single frames (section 2.2): whole frames of detections
    until P objects, each detection with K views (the crop, then K - 1 strong augmentations of
    it). Positives: views of one detection; negatives: other detections of the same frame only.

    frames, groups: ``(N,)`` of the detections.
    """

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

    def __len__(self) -> int:
        return sum(len(f) for f in self._frames)

    def sample_pk(self, rng: np.random.Generator, p: int, k: int) -> PKGroup:
        detections, frame_of = [], []
        for f in rng.permutation(len(self._frames)):
            if len(detections) >= p:
                break
            take = rng.permutation(self._frames[f])[: p - len(detections)]
            detections += take.tolist()
            frame_of += [int(f)] * len(take)
        rows = np.repeat(np.asarray(detections, np.int64), k)
        pids = np.repeat(np.arange(len(detections)), k)
        frame = np.repeat(np.asarray(frame_of), k)
        negatives = (frame[:, None] == frame[None, :]) & (pids[:, None] != pids[None, :])
        strong = np.tile(np.arange(k) > 0, len(detections))
        return PKGroup(self.items[rows], pids, negatives, strong)


class InterTrackletPKSampler:
    """Target-video P x K batches from short tracklets (section 2.4): the tracklets present in a
    random frame (more frames of the same video until P), K detections of each from anywhere in
    the tracklet. Positives: one tracklet; negatives: tracklets that share a frame (masks of one
    frame are different objects), so temporally disjoint tracklets, which may be one object, are
    never pushed apart.

    frames, groups, tracklets: ``(N,)``; tracklet ids are per group, -1 = in no tracklet.
    """

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
        self._frames_of = {key: np.unique(frames[v]) for key, v in self._members.items()}
        present = defaultdict(list)  # (group, frame) -> tracklet keys
        for key, fs in self._frames_of.items():
            for f in fs.tolist():
                present[(key[0], f)].append(key)
        self._entries = [
            sorted(keys)
            for _, keys in sorted(present.items())
            if len(keys) >= 2 and any(len(self._members[t]) >= 2 for t in keys)
        ]
        if not self._entries:
            raise ValueError(
                "no frame holds two short tracklets of which one spans two frames: no "
                "inter-short-tracklet triplet exists"
            )
        self._entries_of_group = defaultdict(list)
        for e, keys in enumerate(self._entries):
            self._entries_of_group[keys[0][0]].append(e)

    def __len__(self) -> int:
        return sum(len(e) for e in self._entries)

    def sample_pk(self, rng: np.random.Generator, p: int, k: int) -> PKGroup:
        first = int(rng.integers(len(self._entries)))
        group = self._entries[first][0][0]
        others = [e for e in self._entries_of_group[group] if e != first]
        chosen: list[tuple[int, int]] = []
        for e in [first, *(others[j] for j in rng.permutation(len(others)))]:
            if len(chosen) >= p:
                break
            fresh = [t for t in self._entries[e] if t not in chosen]
            fresh = [fresh[i] for i in rng.permutation(len(fresh))]
            # tracklets seen in two frames first (a stable sort keeps the random order within):
            # they give real positives, a one-mask tracklet only augmented copies
            fresh.sort(key=lambda t: len(self._members[t]) < 2)
            chosen += fresh[: p - len(chosen)]
        rows, strong = [], []
        for key in chosen:
            r, s = _views(self._members[key], k, rng)
            rows.append(r)
            strong.append(s)
        pids = np.repeat(np.arange(len(chosen)), k)
        overlap = np.array(
            [
                [
                    a != b and len(np.intersect1d(self._frames_of[a], self._frames_of[b])) > 0
                    for b in chosen
                ]
                for a in chosen
            ],
            bool,
        ).reshape(len(chosen), len(chosen))
        negatives = overlap[np.ix_(pids, pids)]
        return PKGroup(self.items[np.concatenate(rows)], pids, negatives, np.concatenate(strong))


class PKBatchSampler(_BatchStream):
    """Batches of ``P x K`` views, training-set objects then target objects in the exact ratio
    (paper: 1:1), for batch-hard mining (``remots.models.losses.batch_hard_triplet_loss``).

    Yields one dict per batch: ``source (B,)`` (TRAIN / TARGET), ``item (B,)``, ``positives`` and
    ``negatives`` ``(B, B)`` bool (pairs across sources are neither: nothing is known of them),
    ``strong (B,)`` and ``seed (B,)`` (each view's augmentation). ``batch_size`` counts views:
    a multiple of ``num_instances * (ratio[0] + ratio[1])``.

    Batch b of the common stream comes from ``np.random.default_rng([seed, b])``; an epoch starts
    at ``start_batch()`` (the batches this rank has trained on, so a resumed run continues the
    stream exactly) or, without it, at ``epoch * num_batches``. Under DDP rank r takes the
    batches ``b % world_size == r``.
    """

    def __init__(
        self,
        *,
        train_sampler=None,
        target_sampler=None,
        batch_size: int,
        num_instances: int = 4,
        ratio: tuple[int, int] | list[int] = (1, 1),
        num_batches: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        start_batch: Callable[[], int] | None = None,
    ):
        super().__init__(
            train_sampler, target_sampler, ratio, num_batches=num_batches, seed=seed, rank=rank,
            world_size=world_size, start_batch=start_batch, what="P x K batches",
        )  # fmt: skip
        k = int(num_instances)
        if k < 2:
            raise ValueError(f"num_instances {k}: K must be at least 2 views of each object")
        if batch_size % k:
            raise ValueError(f"batch_size {batch_size} is not a multiple of num_instances {k}")
        p_train, p_target = split_counts(batch_size // k, self.ratio)
        self.p = {TRAIN: p_train, TARGET: p_target}
        self.k = k
        self.samplers = {TRAIN: train_sampler, TARGET: target_sampler}

    def batch(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        parts = []
        for source in (TRAIN, TARGET):
            if self.p[source]:
                parts.append((source, self.samplers[source].sample_pk(rng, self.p[source], self.k)))
        n = sum(len(g) for _, g in parts)
        positives = np.zeros((n, n), bool)
        negatives = np.zeros((n, n), bool)
        start = 0
        for _, g in parts:
            s = slice(start, start + len(g))
            positives[s, s] = g.pids[:, None] == g.pids[None, :]
            negatives[s, s] = g.negatives
            start += len(g)
        np.fill_diagonal(positives, False)
        return {
            "source": np.concatenate([np.full(len(g), src) for src, g in parts]),
            "item": np.concatenate([g.items for _, g in parts]),
            "positives": positives,
            "negatives": negatives,
            "strong": np.concatenate([g.strong for _, g in parts]),
            "seed": rng.integers(0, 2**31 - 1, size=n),
        }
