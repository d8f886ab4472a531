"""Clips read as a stream, for corpora that no list of files on one machine serves: shards ([`ShardedClipDataset`])
and `datasets` streams ([`StreamedClipDataset`]), decoded in the DataLoader workers like [`ClipDataset`]'s.

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
   ([`ShardedClipDataset.list_records`]).
4. Each worker shuffles its run through a buffer of `shuffle_buffer_size` samples (training only), holding
   their undecoded bytes.

The dataset's length is its process's part, so the `Trainer` counts epochs and steps as for a list of clips
(`--num_train_epochs` works). Resuming after `k` batches of an epoch, each worker works out which of its samples
the first `k` batches held and reads past them without decoding (`SocialMAETrainer` tells the dataset `k`
instead of letting the `Trainer` decode and drop `k` batches); the rest follow in the same order as without
the restart, and each training clip's random frame choice is drawn from a generator seeded by the seed, the
epoch and the clip's place in the epoch, so it does not depend on workers or restarts either. An exact resume
needs the same number of processes, workers and batch size as the interrupted run.

Why not `datasets`' `webdataset` builder for shards (it reads them too): it splits processes by whole shards (or
has every process read everything and keep a share), so processes see different numbers of clips and need
`max_steps`; it has no length for `--num_train_epochs`; and a `Trainer` resumes it by decoding the skipped
batches (its `state_dict` needs torchdata's StatefulDataLoader, which the 5.x `Trainer` does not use).

`datasets` streams (`--dataset_name ... --streaming`) are split across processes with
`datasets.distributed.split_dataset_by_node` and across workers by `datasets` itself; they have no length, so the
`Trainer` needs `--max_steps`, and a resume re-reads the current pass up to its position (see README).
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .clip_dataset import DecodeFailure, check_decoding_options, decode_clip, decode_failure
from .manifest import ClipRecord, ManifestColumns, ManifestError, parse_target
from .precomputed import FBANK_MEMBER, FRAMES_MEMBER, check_feature_settings, precomputed_inputs
from .records import StreamedSplit
from .shards import AUDIO_EXTENSIONS, TARGETS_EXTENSION, VIDEO_EXTENSIONS, ShardSample, ShardSet, iter_shard_samples
from .shards import member_json as read_member_json
from .targets import TargetEncoder

__all__ = [
    "ClipStream",
    "ShardedClipDataset",
    "StreamedClipDataset",
    "buffer_order",
    "clip_count",
    "clip_records",
    "process_part",
    "worker_batches",
]

logger = logging.getLogger(__name__)

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


class ClipStream(torch.utils.data.IterableDataset):
    """What the shard and `datasets` streams share: the decoding settings, the epoch (in shared memory, so that
    persistent DataLoader workers see it) and the process and batch layout `SocialMAETrainer` sets."""

    def __init__(
        self,
        processor,
        targets: TargetEncoder,
        *,
        modality: str,
        training: bool,
        on_decode_error: str,
        shuffle_buffer_size: int,
        seed: int,
    ):
        self.modalities = check_decoding_options(modality, on_decode_error)
        if shuffle_buffer_size < 0:
            raise ValueError(f"shuffle_buffer_size must be >= 0, got {shuffle_buffer_size}")
        self.processor = processor
        self.targets = targets
        self.modality = modality
        self.training = training
        self.on_decode_error = on_decode_error
        self.shuffle_buffer_size = shuffle_buffer_size if training else 0
        self.seed = seed
        self.rank, self.world_size, self.batch_size, self.drop_last = 0, 1, 1, False
        # epoch, epoch whose first batches are skipped, how many (a resumed run)
        self._state = torch.tensor([0, -1, 0], dtype=torch.int64).share_memory_()
        self._pending_skip = 0

    def configure(self, *, rank: int = 0, world_size: int = 1, batch_size: int = 1, drop_last: bool = False):
        """This process's place among `world_size` processes and its DataLoader's batch size."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.rank, self.world_size, self.batch_size, self.drop_last = rank, world_size, batch_size, drop_last
        return self

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


class ShardedClipDataset(ClipStream):
    """The clips of a [`ShardSet`], read and decoded as the epoch plan says (see the module docstring).

    Args:
        shards: The split's shards ([`open_shards`]).
        processor: A [`SocialMAEProcessor`] sized to the model.
        targets: Encodes each sample's target (its `json` member, read with `columns` as a manifest row).
        columns: Which keys of the `json` member hold the label or the regression targets.
        modality: `"audiovisual"`, `"audio"` or `"video"`.
        training: Shuffled shard order and buffer, random frame choice.
        on_decode_error: `"abort"` or `"skip"`, as [`ClipDataset`]'s; messages name the shard and key.
        shuffle_buffer_size: Samples each worker shuffles among (training only); their bytes are held in memory.
        seed: Seed of the shuffles and of the frame choices.
        use_precomputed_features: Read stored `input_values` / frames instead of decoding the media (checked
            against `processor`'s settings).
        label_separator: Separator of class names in a multi-label string.
    """

    def __init__(
        self,
        shards: ShardSet,
        processor,
        targets: TargetEncoder,
        *,
        columns: ManifestColumns | None = None,
        modality: str = "audiovisual",
        training: bool = False,
        on_decode_error: str = "abort",
        shuffle_buffer_size: int = DEFAULT_SHUFFLE_BUFFER,
        seed: int = 0,
        use_precomputed_features: bool = True,
        label_separator: str = ",",
    ):
        super().__init__(
            processor,
            targets,
            modality=modality,
            training=training,
            on_decode_error=on_decode_error,
            shuffle_buffer_size=shuffle_buffer_size,
            seed=seed,
        )
        if shards.num_samples < 1:
            raise ManifestError(f"shards {shards.source} hold no samples")
        self.shards = shards
        if columns is None:
            task = targets.task
            columns = ManifestColumns(
                label="label" if "classification" in task else None,
                targets=targets.names if task == "regression" else (),
            )
        self.columns = columns
        self.label_separator = label_separator
        self._check_targets(shards, targets.task, columns)
        stored = set(shards.features) if use_precomputed_features else set()
        self.stored = {
            m: member for m, (feature, member) in _FEATURE_MEMBERS.items() if feature in stored and m in self.modalities
        }
        if self.stored:
            features = [_FEATURE_MEMBERS[m][0] for m in self.stored]
            check_feature_settings(processor, shards.index.get("processor", {}), features, f"shards {shards.source}")
        self.decoded = tuple(m for m in self.modalities if m not in self.stored)

    @staticmethod
    def _check_targets(shards: ShardSet, task: str, columns: ManifestColumns) -> None:
        """The targets the run needs are in the shards (as far as their index says), before any clip is read."""
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
        missing = [name for name in columns.targets if name not in indexed.get("targets", [])]
        if task == "regression" and missing:
            raise ManifestError(
                f"shards {shards.source} have no target(s) {missing}; their targets are {indexed.get('targets')}"
            )

    def configure(self, *, rank: int = 0, world_size: int = 1, batch_size: int = 1, drop_last: bool = False):
        if world_size > self.shards.num_samples:
            raise ManifestError(
                f"shards {self.shards.source}: {self.shards.num_samples} samples for {world_size} processes"
            )
        return super().configure(rank=rank, world_size=world_size, batch_size=batch_size, drop_last=drop_last)

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

    def __iter__(self) -> Iterator[dict | DecodeFailure]:
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

    def record(self, sample: ShardSample) -> ClipRecord:
        """The sample as a [`ClipRecord`]: its media bytes and its target, read from its `json` member."""
        row = read_member_json(sample.members, sample.name)
        if self.targets.task != "pretraining" and not row:
            raise ManifestError(f"{sample.name}: no json member with its {self.targets.task} target")
        target = parse_target(
            row.get(self.columns.label), self.targets.task, self.columns, row, sample.name, self.label_separator
        )
        videos = [e for e in sample.members if e in VIDEO_EXTENSIONS]
        audios = [e for e in sample.members if e in AUDIO_EXTENSIONS or e.startswith("audio.")]
        for kind, found in (("video", videos), ("audio", audios)):
            if len(found) > 1:
                raise ManifestError(f"{sample.name}: {len(found)} {kind} members {found}; a sample holds one")
        video = sample.members[videos[0]] if videos else None
        audio = sample.members[audios[0]] if audios else None
        return ClipRecord(video, audio, target, sample.name)

    def decode(self, sample: ShardSample, epoch: int, position: int) -> dict | DecodeFailure:
        """Model inputs and `labels` of one sample (stored features where used, the media for the rest)."""
        record = self.record(sample)
        generator = self._generator(epoch, position)
        if self.decoded and record.video is None and record.audio is None:
            error = ManifestError(f"no media member (members: {sorted(sample.members)})")
            return decode_failure(record, error, self.on_decode_error)
        item = {}
        if self.decoded:
            item = decode_clip(
                record,
                self.processor,
                self.targets,
                modalities=self.decoded,
                training=self.training,
                on_decode_error=self.on_decode_error,
                generator=generator,
            )
            if isinstance(item, DecodeFailure):
                return item
        if self.stored:
            missing = [member for member in self.stored.values() if member not in sample.members]
            try:
                if missing:
                    raise ManifestError(f"no {missing} member, although the shard index lists these features")
                item.update(
                    precomputed_inputs(
                        self.processor, sample.members, tuple(self.stored), training=self.training, generator=generator
                    )
                )
            except _STORED_ERRORS as error:
                return decode_failure(record, error, self.on_decode_error)
            label = self.targets.encode(record)
            if label is not None:
                item["labels"] = label
        return item

    def list_records(self) -> list[ClipRecord]:
        """Every sample's record (targets and names, not the media), in evaluation order: for `predictions.csv`.
        Only the `json` members are read."""
        out = []
        for shard in self.shards.shards:
            samples = iter_shard_samples(shard.url, wanted=TARGETS_EXTENSION.__eq__, stop=shard.num_samples)
            for sample in samples:
                record = self.record(sample)
                media = read_member_json(sample.members, sample.name).get("_media") or sample.name
                out.append(ClipRecord(media, None, record.target, sample.name))
        return out


class StreamedClipDataset(ClipStream):
    """A `datasets` stream ([`StreamedSplit`]) decoded like [`ClipDataset`]: split across processes with
    `split_dataset_by_node`, across workers by `datasets`, shuffled with its shard order and buffer in training.
    No length: the `Trainer` needs `max_steps`."""

    def __init__(
        self,
        stream: StreamedSplit,
        processor,
        targets: TargetEncoder,
        *,
        modality: str = "audiovisual",
        training: bool = False,
        on_decode_error: str = "abort",
        shuffle_buffer_size: int = DEFAULT_SHUFFLE_BUFFER,
        seed: int = 0,
    ):
        super().__init__(
            processor,
            targets,
            modality=modality,
            training=training,
            on_decode_error=on_decode_error,
            shuffle_buffer_size=shuffle_buffer_size,
            seed=seed,
        )
        self.stream = stream

    def _dataset(self, epoch: int):
        from datasets.distributed import split_dataset_by_node

        dataset = self.stream.dataset
        if self.shuffle_buffer_size:
            dataset = dataset.shuffle(seed=self.seed, buffer_size=self.shuffle_buffer_size)
        if self.world_size > 1:
            dataset = split_dataset_by_node(dataset, rank=self.rank, world_size=self.world_size)
        dataset.set_epoch(epoch)
        return dataset

    def __iter__(self) -> Iterator[dict | DecodeFailure]:
        epoch = self.epoch
        for number, row in enumerate(self._dataset(epoch)):
            record = self.stream.record(row, number)
            yield decode_clip(
                record,
                self.processor,
                self.targets,
                modalities=self.modalities,
                training=self.training,
                on_decode_error=self.on_decode_error,
            )


def clip_count(dataset) -> int | None:
    """Clips of a split's dataset: a list's length, a shard set's sample count, `None` for a `datasets` stream."""
    if isinstance(dataset, ShardedClipDataset):
        return dataset.num_clips
    if isinstance(dataset, StreamedClipDataset):
        return None
    return len(dataset)


def clip_records(dataset) -> Sequence[ClipRecord] | None:
    """The records of an evaluation dataset in its order (for `predictions.csv`); `None` for a `datasets` stream."""
    if isinstance(dataset, ShardedClipDataset):
        return dataset.list_records()
    return getattr(dataset, "records", None)
