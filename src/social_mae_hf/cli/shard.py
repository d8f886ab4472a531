"""`social-mae shard`: pack manifests of clips into WebDataset-style tar shards, for training at corpus scale."""

import argparse

from .inputs import non_negative_int

HELP = (
    "Pack manifests of clips into tar shards (one folder per split, with an index.json), optionally with the fbank "
    "and frames precomputed, for --train_shards of the training scripts."
)
SPLITS = ("train", "validation", "test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output_dir", help="Folder to write one subfolder of shards per split into.")
    for split in SPLITS:
        parser.add_argument(f"--{split}-file", help=f"Manifest of the {split} clips (.csv, .tsv, .jsonl, .json).")
    parser.add_argument("--manifest", help="One manifest holding every split, with --split-column.")
    parser.add_argument("--split-column", help="Column naming each row's split (with --manifest).")
    parser.add_argument(
        "--task",
        choices=["classification", "multi_label_classification", "regression", "pretraining"],
        default="classification",
        help="What the manifests' targets are (default classification; pretraining: no targets).",
    )
    parser.add_argument("--video-column", default="video", help="Video path column ('none': audio files only).")
    parser.add_argument("--audio-column", default=None, help="Separate audio path column (replaces the video's sound).")
    parser.add_argument("--label-column", default="label", help="Class name column (classification, multi-label).")
    parser.add_argument("--target-columns", default=None, help="Regression: comma-separated float target columns.")
    parser.add_argument("--label-separator", default=",", help="Separator of class names in a multi-label cell.")
    parser.add_argument(
        "--clips-per-shard",
        type=non_negative_int,
        default=1000,
        help="Clips per shard (default 1000; 0: no limit but the size).",
    )
    parser.add_argument(
        "--max-shard-size", default=None, help="Start a new shard before one grows past this size (e.g. 1GB, 500MB)."
    )
    parser.add_argument(
        "--precompute",
        choices=["none", "fbank", "frames", "all"],
        default="none",
        help="Store features so that training decodes less: the audio's fbank (input_values), the frames the frame "
        "choice can pick, or both (default none: the media only). Needs the processor of the model to train: "
        "--processor, or --config-name with --config-overrides as given to the training script.",
    )
    parser.add_argument(
        "--processor", help="A model or processor folder / Hub id whose processor computes the features."
    )
    parser.add_argument("--config-name", help="Or a preset ('social-mae', 'cav-mae') or config, as --config_name.")
    parser.add_argument("--config-overrides", help="key=value,... as the training script's --config_overrides.")
    parser.add_argument("--no-shuffle", action="store_true", help="Pack in manifest order (default: a seeded shuffle).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the shuffle (default 0).")
    parser.add_argument(
        "--on-decode-error",
        choices=["abort", "skip"],
        default="abort",
        help="A clip that cannot be read (or decoded, with --precompute): abort, or leave it out (listed in the "
        "index).",
    )
    parser.add_argument(
        "--num-workers", type=non_negative_int, default=0, help="Processes reading and precomputing clips."
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace the shards in an existing split folder (of a finished run, or of one that was cut short).",
    )
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="Pack media that are symbolic links out of the manifest's folder (refused by default).",
    )
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def run(args: argparse.Namespace) -> int:
    import importlib.util
    from pathlib import Path

    if importlib.util.find_spec("datasets") is None:  # manifests are read as the training scripts read them
        raise ValueError(
            'shard reads manifests with the `datasets` library, which is not installed: pip install "social-mae-hf[train]"'
        )

    from ..shards.writer import ShardLimits, parse_size, write_split_shards
    from ..training.data import ManifestColumns, TargetEncoder, load_clip_datasets, optional_column

    files = {split: getattr(args, f"{split}_file") for split in SPLITS}
    files = {split: path for split, path in files.items() if path}
    if not files and not args.manifest:
        raise ValueError("give --train-file / --validation-file / --test-file, or --manifest with --split-column")
    if files and args.manifest:
        raise ValueError("give --manifest or per-split files, not both")
    targets = tuple(t.strip() for t in (args.target_columns or "").split(",") if t.strip())
    task = args.task
    columns = ManifestColumns(
        video=optional_column(args.video_column),
        audio=optional_column(args.audio_column),
        label=args.label_column if task in ("classification", "multi_label_classification") else None,
        targets=targets,
        split=args.split_column,
    )
    processor = _processor(args)
    limits = ShardLimits(clips=args.clips_per_shard or None, bytes=parse_size(args.max_shard_size))
    splits, _ = load_clip_datasets(
        task, dict.fromkeys(SPLITS, True), columns, files=files, manifest=args.manifest, check_media=False
    )
    encoder = TargetEncoder(task, columns.targets if task == "regression" else (), columns, args.label_separator)
    for split, dataset in splits.items():
        records = [_clip(row, row["_source"], encoder) for row in dataset.to_list()]
        folder = Path(args.output_dir) / split
        index = write_split_shards(
            records,
            folder,
            split,
            task=task,
            columns=columns,
            limits=limits,
            precompute=args.precompute,
            processor=processor,
            shuffle=not args.no_shuffle,
            seed=args.seed,
            on_decode_error=args.on_decode_error,
            num_workers=args.num_workers,
            overwrite=args.overwrite,
            progress=not args.quiet,
            media_root=Path(files.get(split) or args.manifest).resolve().parent,
            follow_symlinks=args.follow_symlinks,
        )
        size = sum(shard["num_bytes"] for shard in index["shards"])
        skipped = f", {len(index['skipped'])} left out" if index["skipped"] else ""
        print(
            f"{split}: {index['num_samples']} clips in {len(index['shards'])} shard(s) ({size / 1e6:.1f} MB{skipped}): "
            f"{folder / index['pattern']}"
        )
    return 0


def _clip(row: dict, where: str, encoder):
    """A manifest row as the clip `write_split_shards` packs: its media paths and its checked target."""
    from ..shards.writer import ShardClip

    columns, task = encoder.columns, encoder.task
    if task == "regression":
        target = tuple(encoder.encode(row, where))  # the floats, checked
    elif task == "pretraining":
        target = None
    else:
        classes = encoder.classes(row, where)
        target = classes[0] if task == "classification" else classes
    media = {c: row.get(c) for c in columns.media}
    for column, value in media.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: column {column!r} must be a media path, got {value!r}")
    return ShardClip(media.get(columns.video), media.get(columns.audio), target, where)


def _processor(args: argparse.Namespace):
    """The processor computing precomputed features (None without --precompute)."""
    if args.precompute == "none":
        if args.processor or args.config_name:
            raise ValueError("--processor / --config-name are for --precompute (the media alone need none)")
        return None
    if bool(args.processor) == bool(args.config_name):
        raise ValueError(
            f"--precompute {args.precompute} needs the processor of the model to train: --processor (a model or "
            "processor folder) or --config-name (a preset, with --config-overrides as given to the training script)"
        )
    if args.processor:
        from ..loading import load_processor

        return load_processor(args.processor)
    from ..processing_social_mae import SocialMAEProcessor
    from ..training.model_init import fresh_config

    return SocialMAEProcessor.for_model_config(fresh_config(args.config_name, args.config_overrides))
