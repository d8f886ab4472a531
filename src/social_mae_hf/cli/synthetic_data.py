"""`social-mae synthetic-data`: a learnable synthetic audiovisual dataset for trying the scripts."""

import argparse

KEYWORD_FLAGS = {"manifest_format": "--format"}
HELP = "Write a learnable synthetic audiovisual dataset (mp4 clips with sound + manifests) for trying the scripts."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output_dir", help="Folder to write the clips (one subfolder per split) and manifests into.")
    parser.add_argument(
        "--task",
        choices=["classification", "regression", "pretraining"],
        default="classification",
        help="classification: 4 classes = {low, high} tone x {circle, square} (needs both modalities); "
        "regression: pitch and redness targets; pretraining: unlabelled clips whose sound matches the picture.",
    )
    parser.add_argument(
        "--num-clips",
        default="train=64,validation=32",
        help="Clips per split, as split=count pairs separated by commas (default: train=64,validation=32).",
    )
    parser.add_argument("--duration-s", type=float, default=1.0, help="Clip length in seconds (default 1).")
    parser.add_argument("--size", type=int, default=32, help="Square frame side in pixels (default 32, at least 16).")
    parser.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="Manifest format (default csv).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of every split (default 0).")


def run(args: argparse.Namespace) -> int:
    from ..synthetic.dataset import write_synthetic_dataset

    try:
        pairs = [(split, int(count)) for split, count in (pair.split("=") for pair in args.num_clips.split(","))]
    except ValueError as error:
        raise ValueError(
            f"--num-clips {args.num_clips!r}: expected split=count pairs, e.g. train=64,test=32"
        ) from error
    counts = dict(pairs)
    if len(counts) < len(pairs):
        twice = next(split for split in counts if sum(name == split for name, _ in pairs) > 1)
        raise ValueError(f"--num-clips {args.num_clips!r}: the split {twice} is given twice")
    manifests = write_synthetic_dataset(
        args.output_dir,
        args.task,
        num_clips=counts,
        duration_s=args.duration_s,
        size=args.size,
        manifest_format=args.format,
        seed=args.seed,
        progress=True,
    )
    for split, manifest in manifests.items():
        print(f"{split}: {counts[split]} clips, manifest {manifest}")
    return 0
