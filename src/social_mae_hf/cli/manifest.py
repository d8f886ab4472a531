"""`social-mae manifest`: train / validation / test manifests from a public dataset's folder as it unpacks."""

import argparse

from ..manifests import DATASETS  # standard library only: the parser stays fast

HELP = (
    "Write train.csv, validation.csv and test.csv (the training scripts' manifests) from a dataset folder in its "
    "own layout: crema-d, first-impressions, voxceleb2, social-mae-layout (the original code's video/ + audio/ "
    "tree) or folders (one folder per class)."
)
# Option (its argparse dest) -> the datasets it applies to; giving it for another dataset is an error.
OPTIONS = {
    "split_ratios": ("crema-d", "folders"),
    "seed": ("crema-d", "folders", "voxceleb2"),
    "audio": ("crema-d",),
    "video": ("crema-d",),
    "interview": ("first-impressions",),
    "validation_speakers": ("voxceleb2",),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset", metavar="DATASET", choices=sorted(DATASETS), help=f"The layout of SOURCE: {', '.join(DATASETS)}."
    )
    parser.add_argument("source", metavar="SOURCE", help="The dataset's folder, as it unpacks.")
    parser.add_argument(
        "output_dir", metavar="OUTPUT_DIR", help="Folder for train.csv, validation.csv, test.csv (and left_out.txt)."
    )
    parser.add_argument(
        "--split-ratios",
        help="crema-d, folders: train,validation,test shares (default 0.8,0.1,0.1); crema-d splits whole actors.",
    )
    parser.add_argument("--seed", type=int, help="crema-d, folders, voxceleb2: seed of the split (default 0).")
    parser.add_argument(
        "--audio",
        choices=["video", "wav"],
        help="crema-d: the videos' own sound (default) or the separate AudioWAV/ files (an audio column).",
    )
    parser.add_argument(
        "--video", choices=["auto", "mp4", "flv"], help="crema-d: VideoMP4/ or VideoFlash/ (default: mp4 if there)."
    )
    parser.add_argument("--interview", action="store_true", default=None, help="first-impressions: add `interview`.")
    parser.add_argument(
        "--validation-speakers",
        type=int,
        help="voxceleb2: dev/ speakers (drawn with --seed) held out as the validation split (default 0).",
    )
    parser.add_argument("--overwrite", action="store_true", help="Replace manifests already in OUTPUT_DIR.")


def run(args: argparse.Namespace) -> int:
    from ..manifests import summarize, write_manifests

    options = {}
    for dest, datasets in OPTIONS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if args.dataset not in datasets:
            flag = "--" + dest.replace("_", "-")
            raise ValueError(f"{flag} is for {' / '.join(datasets)}, not {args.dataset}")
        options["ratios" if dest == "split_ratios" else dest] = value
    table = DATASETS[args.dataset](args.source, **options)
    paths = write_manifests(table, args.output_dir, overwrite=args.overwrite)
    print(summarize(table))
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    script = "run_pretrain.py" if table.task == "pretraining" else "run_finetune.py"
    files = [f"--{split}_file {paths[split]}" for split in ("train", "validation") if table.splits[split]]
    print(f"train with: python examples/{script} {' '.join(files + table.training_flags())}")
    return 0
