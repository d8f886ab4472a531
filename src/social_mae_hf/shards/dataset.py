"""Shards read as a stream, for corpora that no list of files on one machine serves ([`ShardedClipDataset`]),
decoded in the DataLoader workers by the run's transform (`social_mae_hf.training.ClipTransform`: the processor, the
targets, the failure policy).

Shards are read with an epoch plan that every process and worker computes alike from the seed, the epoch and the
shards' sample counts (their `index.json`), so that nothing is exchanged between them:

1. In training the shard order is shuffled per epoch; the epoch is the concatenation of their samples.
2. Process `r` of `W` takes the `r`-th contiguous part of `ceil(N / W)` samples. When `W` does not divide `N`
   the last parts wrap around to the epoch's first samples (as `DistributedSampler` pads), so that every process
   runs the same number of steps; otherwise each sample is seen exactly once per epoch across processes.
3. A process's part is cut into batches. In training its DataLoader workers take contiguous runs of whole
   batches (the first workers one more when they do not divide evenly), so that each reads its own shards (two
   neighbours share a shard where a run ends inside it) and the DataLoader's round-robin over workers yields
   exactly `ceil(part / batch_size)` batches. In evaluation worker `w` of `n` takes batches `w, w + n, ...`, so
   that the round robin yields the clips in the shards' order, the order of `predictions.csv`
   ([`ShardedClipDataset.list_rows`]).
4. Each worker shuffles its run through a buffer of `shuffle_buffer_size` samples (training only), holding
   their undecoded bytes.

The dataset's length is its process's part, so the `Trainer` counts epochs and steps as for a list of clips
(`--num_train_epochs` works). Resuming after `k` batches of an epoch, each worker works out which of its samples
the first `k` batches held and reads past them without decoding (`SocialMAETrainer` tells the dataset `k`
instead of letting the `Trainer` decode and drop `k` batches); the rest follow in the same order as without
the restart, and each training clip's random frame choice is drawn from a generator seeded by the seed, the
epoch and the clip's place in the epoch, so it does not depend on workers or restarts either. An exact resume
needs the same number of processes, workers and batch size as the interrupted run.

Why not `datasets`' `webdataset` builder for shards (it reads them, see the tests): a `Trainer` cannot resume it
exactly. Its `IterableDataset.state_dict()` drops the shuffle buffer (`BufferShuffledExamplesIterable.load_state_dict`
warns "the shuffle buffer will be refilled": the clips it held are never trained on), the 5.25 `Trainer` saves no
DataLoader state, and the state of DataLoader workers needs torchdata's StatefulDataLoader. It also splits processes
by whole shards, so that processes see different numbers of clips, and has no length for `--num_train_epochs`.
`datasets` streams (`--dataset_name ... --streaming`) are read through `datasets` and Accelerate as they are.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator

import numpy as np
import torch

from ..errors import ManifestError
from .precomputed import FBANK_MEMBER, FRAMES_MEMBER, check_feature_settings, precomputed_inputs
from .reader import (
    AUDIO_EXTENSIONS,
    TARGETS_EXTENSION,
    VIDEO_EXTENSIONS,
    ShardSample,
    ShardSet,
    iter_shard_samples,
)
from .reader import member_json as read_member_json

__all__ = ["ShardedClipDataset", "batches_before", "buffer_order", "process_part", "worker_batches"]

DEFAULT_SHUFFLE_BUFFER = 1000
# Stored features of a modality -> the member holding them.
_FEATURE_MEMBERS = {"audio": ("input_values", FBANK_MEMBER), "video": ("frames", FRAMES_MEMBER)}
# Reading a stored feature can fail like decoding a file does (a cut or corrupted member).
_STORED_ERRORS = (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile)


def process_part(total: int, rank: int, world_size: int) -> tuple[int, int]:
    """(first position, sample count) of process `rank`'s part of an epoch of `total` samples; positions past the
    end wrap to the start (padding, only when `world_size` does not divide `total`)."""
    count = math.ceil(total / world_size)
    return rank * count, count


def worker_batches(num_batches: int, worker: int, num_workers: int) -> tuple[int, int]:
    """(first batch, batch count) of DataLoader worker `worker`: contiguous runs, the first workers one more."""
    base, extra = divmod(num_batches, num_workers)
    first = worker * base + min(worker, extra)
    return first, base + (1 if worker < extra else 0)


def batches_before(k: int, worker: int, num_workers: int) -> int:
    """Batches worker `worker` produced among the DataLoader's first `k` (it yields batch `t * num_workers +
    worker` as its `t`-th while every worker still has batches, and the workers with more batches come first)."""
    return max(0, -(-(k - worker) // num_workers))


def buffer_order(n: int, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order in which a shuffle buffer of `buffer_size` emits items `0 .. n-1` read in that order: once full,
    each new item replaces a random one, which is emitted; the rest leave in random order at the end. Every
    emitted item has been read, so the reader holds at most `buffer_size` items."""
    if buffer_size <= 1 or n <= 1:
        return np.arange(n)
    out, buffer = [], []
    picks = iter(rng.integers(0, buffer_size, size=max(0, n - buffer_size)))
    for i in range(n):
        if len(buffer) < buffer_size:
            buffer.append(i)
            continue
        k = next(picks)
        out.append(buffer[k])
        buffer[k] = i
    rng.shuffle(buffer)
    return np.asarray(out + buffer, dtype=np.int64)


def _sample_seed(*values: int) -> int:
    return int(np.random.SeedSequence([v & 0xFFFFFFFF for v in values]).generate_state(1, np.uint64)[0] >> 1)


class ShardedClipDataset(torch.utils.data.IterableDataset):
    """The clips of a [`ShardSet`], read and decoded as the epoch plan says (see the module docstring).

    Args:
        shards: The split's shards ([`open_shards`]).
        transform: Decodes a sample's media and encodes its target (its `json` member, read as a manifest row);
            its `training` also means a shuffled shard order and buffer, and a random frame choice.
        shuffle_buffer_size: Samples each worker shuffles among (training only); their bytes are held in memory.
        seed: Seed of the shuffles and of the frame choices.
        use_precomputed_features: Read stored `input_values` / frames instead of decoding the media (checked
            against the processor's settings).

    The epoch (in shared memory, so that persistent DataLoader workers see it) is set by the `Trainer` through
    `set_epoch`; the process and batch layout by `SocialMAETrainer` through `configure`.
    """

    def __init__(
        self,
        shards: ShardSet,
        transform,
        *,
        shuffle_buffer_size: int = DEFAULT_SHUFFLE_BUFFER,
        seed: int = 0,
        use_precomputed_features: bool = True,
    ):
        if shuffle_buffer_size < 0:
            raise ValueError(f"shuffle_buffer_size must be >= 0, got {shuffle_buffer_size}")
        if shards.num_samples < 1:
            raise ManifestError(f"shards {shards.source} hold no samples")
        self.shards, self.transform, self.seed = shards, transform, seed
        self.training = transform.training
        self.shuffle_buffer_size = shuffle_buffer_size if self.training else 0
        self.rank, self.world_size, self.batch_size, self.drop_last = 0, 1, 1, False
        # epoch, epoch whose first batches are skipped, how many (a resumed run)
        self._state = torch.tensor([0, -1, 0], dtype=torch.int64).share_memory_()
        self._pending_skip = 0
        self._check_targets(shards, transform.encoder)
        stored = set(shards.features) if use_precomputed_features else set()
        modalities = transform.modalities
        self.stored = {
            m: member for m, (feature, member) in _FEATURE_MEMBERS.items() if feature in stored and m in modalities
        }
        if self.stored:
            features = [_FEATURE_MEMBERS[m][0] for m in self.stored]
            settings = shards.index.get("processor", {})
            check_feature_settings(transform.processor, settings, features, f"shards {shards.source}")
        self.decoded = tuple(m for m in modalities if m not in self.stored)

    @staticmethod
    def _check_targets(shards: ShardSet, encoder) -> None:
        """The targets the run needs are in the shards (as far as their index says), before any clip is read."""
        task, columns = encoder.task, encoder.columns
        indexed_task, indexed = shards.index.get("task"), shards.index.get("columns")
        if indexed_task == "pretraining" and task != "pretraining":
            raise ManifestError(f"shards {shards.source} were written for pretraining: they have no {task} targets")
        if not indexed or task == "pretraining":
            return
        if task != "regression" and columns.label != indexed.get("label"):
            raise ManifestError(
                f"shards {shards.source} hold their classes under {indexed.get('label')!r}, not {columns.label!r}: "
                f"pass --label_column {indexed.get('label')}"
            )
        missing = [name for name in encoder.names if name not in indexed.get("targets", [])]
        if task == "regression" and missing:
            raise ManifestError(
                f"shards {shards.source} have no target(s) {missing}; their targets are {indexed.get('targets')}"
            )

    @property
    def epoch(self) -> int:
        return int(self._state[0])

    def set_epoch(self, epoch: int) -> None:
        """Called by the `Trainer` (through Accelerate's DataLoader) before each epoch: reshuffles."""
        self._state[0] = epoch
        if self._pending_skip:
            self._state[1], self._state[2] = epoch, self._pending_skip
            self._pending_skip = 0

    def skip_batches(self, num_batches: int) -> None:
        """Start the next epoch set with `set_epoch` after its first `num_batches` batches (a resumed run)."""
        self._pending_skip = int(num_batches)

    def _skipped_batches(self, epoch: int) -> int:
        return int(self._state[2]) if int(self._state[1]) == epoch else 0

    def _generator(self, epoch: int, position: int) -> torch.Generator | None:
        """The training frame choice's generator for the clip at `position` of `epoch`."""
        if not self.training:
            return None
        return torch.Generator().manual_seed(_sample_seed(self.seed, epoch, position))

    def configure(self, *, rank: int = 0, world_size: int = 1, batch_size: int = 1, drop_last: bool = False):
        if world_size > self.shards.num_samples:
            raise ManifestError(
                f"shards {self.shards.source}: {self.shards.num_samples} samples for {world_size} processes"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.rank, self.world_size, self.batch_size, self.drop_last = rank, world_size, batch_size, drop_last
        return self

    def __len__(self) -> int:
        return process_part(self.shards.num_samples, self.rank, self.world_size)[1]

    @property
    def num_clips(self) -> int:
        """Clips of the whole split (all processes)."""
        return self.shards.num_samples

    # ---- the plan ----------------------------------------------------------------------------------------------

    def shard_order(self, epoch: int) -> list[int]:
        order = list(range(len(self.shards.shards)))
        if self.training:
            np.random.default_rng([self.seed, epoch]).shuffle(order)
        return order

    def worker_positions(self, worker: int, num_workers: int) -> np.ndarray:
        """Epoch positions worker `worker` reads, in reading order: in training a contiguous run of whole batches,
        in evaluation every `num_workers`-th batch (see the module docstring)."""
        total = self.shards.num_samples
        first, count = process_part(total, self.rank, self.world_size)
        if self.drop_last:
            count -= count % self.batch_size
        num_batches = math.ceil(count / self.batch_size)
        if self.training:
            first_batch, batches = worker_batches(num_batches, worker, num_workers)
            numbers = range(first_batch, first_batch + batches)
        else:
            numbers = range(worker, num_batches, num_workers)
        size = self.batch_size
        local = [np.arange(b * size, min(count, (b + 1) * size)) for b in numbers]
        return (first + np.concatenate(local or [np.zeros(0, dtype=np.int64)])) % total

    def worker_plan(self, epoch: int, worker: int, num_workers: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions in reading order, the order they are yielded in as indices into them, after the resume
        skip)."""
        positions = self.worker_positions(worker, num_workers)
        rng = np.random.default_rng([self.seed, epoch, self.rank, worker, 1])
        order = buffer_order(len(positions), self.shuffle_buffer_size, rng)
        skip = batches_before(self._skipped_batches(epoch), worker, num_workers) * self.batch_size
        return positions, order[skip:]

    # ---- reading -----------------------------------------------------------------------------------------------

    def _wanted(self, extension: str) -> bool:
        if extension == TARGETS_EXTENSION:
            return True
        if extension in self.stored.values():
            return True
        if not self.decoded:
            return False
        return extension in VIDEO_EXTENSIONS or extension in AUDIO_EXTENSIONS or extension.startswith("audio.")

    def _read(self, positions: np.ndarray, order: np.ndarray, epoch: int) -> Iterator[tuple[int, ShardSample]]:
        """(index into `positions`, sample) for the indices in `order`, in reading order."""
        order_shards = self.shard_order(epoch)
        counts = np.asarray([self.shards.shards[s].num_samples for s in order_shards])
        ends = np.cumsum(counts)
        needed = np.zeros(len(positions), dtype=bool)
        needed[order] = True
        i = 0
        while i < len(positions):
            slot = int(np.searchsorted(ends, positions[i], side="right"))
            shard_start = int(ends[slot] - counts[slot])
            # The run of increasing positions inside this shard: read in one pass, passing over the others.
            j = i
            while j + 1 < len(positions) and positions[j] < positions[j + 1] < ends[slot]:
                j += 1
            run = range(i, j + 1)
            local = {int(positions[k]) - shard_start: k for k in run if needed[k]}
            if local:
                url = self.shards.shards[order_shards[slot]].url
                start, stop = int(positions[i]) - shard_start, int(positions[j]) - shard_start + 1
                for sample in iter_shard_samples(
                    url, wanted=self._wanted, start=start, stop=stop, read=local.__contains__
                ):
                    yield local[sample.position], sample
            i = j + 1

    def __iter__(self) -> Iterator[dict]:
        info = torch.utils.data.get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = self.epoch
        # The DataLoader asks worker 0 first: after k skipped batches, it must be the one that made batch k.
        worker = (worker + self._skipped_batches(epoch)) % num_workers
        positions, order = self.worker_plan(epoch, worker, num_workers)
        held: dict[int, ShardSample] = {}
        next_out = 0
        for index, sample in self._read(positions, order, epoch):
            held[index] = sample
            while next_out < len(order) and int(order[next_out]) in held:
                k = int(order[next_out])
                yield self.decode(held.pop(k), epoch, int(positions[k]))
                next_out += 1
        if next_out < len(order):
            raise ManifestError(f"shards {self.shards.source}: {len(order) - next_out} planned samples were not read")

    # ---- decoding ----------------------------------------------------------------------------------------------

    def row(self, sample: ShardSample) -> tuple[dict, tuple]:
        """The sample's `json` member (its targets, as a manifest row) and its (video, audio) member bytes."""
        row = read_member_json(sample.members, sample.name)
        if self.transform.encoder.task != "pretraining" and not row:
            raise ManifestError(f"{sample.name}: no json member with its {self.transform.encoder.task} target")
        videos = [e for e in sample.members if e in VIDEO_EXTENSIONS]
        audios = [e for e in sample.members if e in AUDIO_EXTENSIONS or e.startswith("audio.")]
        for kind, found in (("video", videos), ("audio", audios)):
            if len(found) > 1:
                raise ManifestError(f"{sample.name}: {len(found)} {kind} members {found}; a sample holds one")
        return row, tuple(sample.members[found[0]] if found else None for found in (videos, audios))

    def decode(self, sample: ShardSample, epoch: int, position: int) -> dict:
        """Model inputs and `labels` of one sample (stored features where used, the media for the rest)."""
        row, media = self.row(sample)
        generator = self._generator(epoch, position)
        transform = self.transform
        if self.decoded:
            item = transform.decode(row, sample.name, modalities=self.decoded, generator=generator, media=media)
            if item.get("decode_error") is not None or not self.stored:
                return item
        else:
            labels = transform.encoder.encode(row, sample.name)
            item = {"labels": labels} if labels is not None else {}
            item.update(clip_source=sample.name, decode_error=None)
        missing = [member for member in self.stored.values() if member not in sample.members]
        try:
            if missing:
                raise ManifestError(f"no {missing} member, although the shard index lists these features")
            stored = precomputed_inputs(
                transform.processor, sample.members, tuple(self.stored), training=self.training, generator=generator
            )
        except _STORED_ERRORS as error:
            return transform.failure(sample.name, None, None, error)  # the collator drops it
        item.update(stored)
        return item

    def list_rows(self) -> list[tuple[str, dict]]:
        """(media name, `json` row) of every sample in evaluation order, for `predictions.csv`: only the `json`
        members are read."""
        out = []
        for shard in self.shards.shards:
            for sample in iter_shard_samples(shard.url, wanted=TARGETS_EXTENSION.__eq__, stop=shard.num_samples):
                row = read_member_json(sample.members, sample.name)
                media = row.get("_media") or sample.name
                out.append((media if isinstance(media, str) else media[0], row))
        return out
