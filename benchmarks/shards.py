"""Training data throughput: clips per second from tar shards versus from the manifest of mp4 files, on the same clips.

The same clips (VoxCeleb2-like: 224 x 224 faces at 25 fps with 16 kHz speech) are read for training (random frame
choice) with the full-size Social-MAE processor through the same DataLoader settings (batch 8, 2 workers,
`SocialMAECollator`) from:

1. the manifest of mp4 files (a `datasets.Dataset` decoded by its `set_transform`, as the scripts read manifests): the baseline, measured in the same process;
2. shards holding the mp4 files (`social-mae shard`), read by `ShardedClipDataset` with a shuffle buffer;
3. shards with precomputed features: the fbank, the frames the frame choice can pick, or both.

Each source is read for a whole epoch, `--rounds` times in turn; the best epoch of each is compared (the machine is
shared). Also printed: disk bytes per clip, and the time `social-mae shard` spent per clip.

    PYTHONPATH=src python benchmarks/shards.py --workdir /tmp/bench_shards
"""

import argparse
import time
from pathlib import Path

import datasets
import torch

from social_mae_hf import SocialMAEProcessor
from social_mae_hf.shards.reader import open_shards
from social_mae_hf.shards.writer import ShardClip, ShardLimits, write_split_shards
from social_mae_hf.synthetic import write_clip
from social_mae_hf.training import ManifestColumns, SocialMAECollator, TargetEncoder, decoded_dataset

CLASSES = ("a", "b", "c", "d")


def write_clips(folder: Path, count: int, duration_s: float) -> list[ShardClip]:
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(count):
        path = folder / f"clip{i:03d}.mp4"
        if not path.exists():
            write_clip(path, duration_s=duration_s, fps=25, width=224, height=224, audio="speech", seed=i,
                       tone_hz=120.0 + 7 * i, shape=("circle", "square")[i % 2])  # fmt: skip
        records.append(ShardClip(str(path), None, CLASSES[i % len(CLASSES)], f"clip {i}"))
    return records


def epoch_seconds(dataset, batch: int, workers: int, epoch: int) -> float:
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        num_workers=workers,
        collate_fn=SocialMAECollator(),
        shuffle=not hasattr(dataset, "set_epoch"),
    )
    started = time.perf_counter()
    clips = sum(len(batch["labels"]) for batch in loader)
    elapsed = time.perf_counter() - started
    if clips != len(dataset):
        raise RuntimeError(f"read {clips} clips of {len(dataset)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_shards"))
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--duration-s", type=float, default=8.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    records = write_clips(args.workdir / "clips", args.clips, args.duration_s)
    processor = SocialMAEProcessor.social_mae()
    targets = TargetEncoder("classification", CLASSES, ManifestColumns())
    mp4_bytes = sum(Path(r.video).stat().st_size for r in records) / len(records)
    table = datasets.Dataset.from_dict(
        {
            "video": [r.video for r in records],
            "label": [r.target for r in records],
            "_source": [r.source for r in records],
        }
    )
    sources = {"manifest of mp4 files": decoded_dataset(table, processor, targets, split="train", training=True)}
    for precompute in ("none", "fbank", "frames", "all"):
        folder = args.workdir / f"shards-{precompute}"
        started = time.perf_counter()
        index = write_split_shards(
            records, folder, "train", task="classification", columns=ManifestColumns(), limits=ShardLimits(clips=12),
            precompute=precompute, processor=processor, overwrite=True, progress=False, num_workers=args.workers,
        )  # fmt: skip
        packing = (time.perf_counter() - started) / len(records)
        dataset = decoded_dataset(
            open_shards(str(folder)), processor, targets, split="train", training=True, shuffle_buffer_size=16
        )
        dataset.configure(batch_size=args.batch)
        size = sum(s["num_bytes"] for s in index["shards"]) / len(records)
        name = "shards: mp4" if precompute == "none" else f"shards: mp4 + {precompute} precomputed"
        sources[name] = dataset
        print(f"{name}: {size / 1e3:.0f} kB per clip on disk ({size / mp4_bytes:.1f}x the mp4), packed in "
              f"{packing * 1e3:.0f} ms per clip")  # fmt: skip
    print(f"mp4: {mp4_bytes / 1e3:.0f} kB per clip; {args.clips} clips of {args.duration_s:g} s, 224x224, 25 fps")

    best = dict.fromkeys(sources, float("inf"))
    for round_ in range(args.rounds):
        for name, dataset in sources.items():
            best[name] = min(best[name], epoch_seconds(dataset, args.batch, args.workers, round_))
    baseline = args.clips / best["manifest of mp4 files"]
    print(f"\nbatch {args.batch}, {args.workers} workers, best of {args.rounds} epochs:")
    for name, seconds in best.items():
        rate = args.clips / seconds
        print(f"  {name:<38} {rate:7.1f} clips/s   {rate / baseline:5.2f}x")


if __name__ == "__main__":
    main()
