"""What decoding through `datasets` costs: a clip read as a training run reads it (`Dataset.with_transform` of the
run's `ClipTransform`) against the same processor call made directly (the baseline), in one process.

    python benchmarks/set_transform_overhead.py [--clips 6] [--rounds 5]
"""

import argparse
import time
from pathlib import Path

import datasets
import torch

from social_mae_hf import SocialMAEProcessor
from social_mae_hf.synthetic import write_clip
from social_mae_hf.training import ClipTransform, ManifestColumns, TargetEncoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_set_transform"))
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.workdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(args.clips):
        path = args.workdir / f"clip{i}.mp4"
        if not path.exists():
            write_clip(path, duration_s=4, fps=25, width=224, height=224, audio="speech", seed=i)
        paths.append(str(path))
    processor = SocialMAEProcessor.social_mae()
    encoder = TargetEncoder("classification", ("a",), ManifestColumns())
    table = datasets.Dataset.from_dict({"video": paths, "label": ["a"] * len(paths), "_source": paths})
    dataset = table.with_transform(ClipTransform(processor, encoder))
    best = {"processor call": float("inf"), "set_transform": float("inf")}
    for _ in range(args.rounds):
        started = time.perf_counter()
        for path in paths:
            processor(videos=path, training=False, modalities=("audio", "video"))
        best["processor call"] = min(best["processor call"], time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(len(paths)):
            dataset[i]
        best["set_transform"] = min(best["set_transform"], time.perf_counter() - started)
    for name, seconds in best.items():
        print(
            f"{name:<16} {len(paths) / seconds:6.1f} clips/s   {best['processor call'] / seconds:5.3f}x the direct call"
        )


if __name__ == "__main__":
    main()
