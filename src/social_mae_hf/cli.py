"""`social-mae` command line: one subcommand per job, each a thin wrapper over the package."""

import argparse
import sys
from collections.abc import Callable, Sequence

Command = tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _add_conversion_options(parser: argparse.ArgumentParser) -> None:
    """What tensor shapes cannot tell the converter (shared by `convert` and `publish`)."""
    parser.add_argument(
        "--num-frames",
        type=int,
        default=8,
        help="Frames per clip the Social-MAE checkpoint was trained with (shapes cannot tell; default 8). "
        "Ignored for CAV-MAE (one frame).",
    )
    parser.add_argument(
        "--num-attention-heads", type=int, default=12, help="Encoder attention heads (default 12, as released)."
    )
    parser.add_argument(
        "--decoder-num-attention-heads",
        type=int,
        default=16,
        help="Decoder attention heads of a pretraining checkpoint (default 16, as released).",
    )


def _conversion_kwargs(args: argparse.Namespace) -> dict:
    """The options of [`_add_conversion_options`], as `convert_checkpoint` / `publish` take them."""
    return {
        "num_frames": args.num_frames,
        "num_attention_heads": args.num_attention_heads,
        "decoder_num_attention_heads": args.decoder_num_attention_heads,
    }


def _add_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="Original Social-MAE or CAV-MAE .pth file (with or without `module.`).")
    parser.add_argument("output_dir", help="Folder to write config.json and model.safetensors into.")
    _add_conversion_options(parser)
    parser.add_argument(
        "--task",
        choices=["classification", "regression"],
        default=None,
        help="Head of a fine-tuned checkpoint: classification (default) or regression (e.g. First Impressions).",
    )
    parser.add_argument(
        "--id2label",
        default=None,
        help="Label names in output order: a JSON file, a JSON list/object, or comma-separated names.",
    )
    parser.add_argument(
        "--no-feature-extractor",
        action="store_true",
        help="Do not write the matching preprocessor_config.json next to the weights.",
    )


def _run_convert(args: argparse.Namespace) -> int:
    from .convert import convert_checkpoint

    model = convert_checkpoint(
        args.checkpoint,
        args.output_dir,
        **_conversion_kwargs(args),
        task=args.task,
        id2label=args.id2label,
        write_feature_extractor=not args.no_feature_extractor,
    )
    config = model.config
    print(
        f"{type(model).__name__}: {sum(p.numel() for p in model.parameters()):,} parameters, "
        f"{config.num_frames} frame(s) of {config.image_size}px, {config.audio_length} audio frames -> "
        f"{args.output_dir}"
    )
    return 0


def _add_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="A converted folder or Hub id. Default: an embedded small random model (meaningless predictions).",
    )
    parser.add_argument("--video", default=None, help="Use this media file instead of generating a synthetic clip.")
    parser.add_argument("--output-dir", default=None, help="Where to write the synthetic clip (default: a temp dir).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the synthetic clip and the random model.")
    parser.add_argument("--top-k", type=int, default=3, help="Predictions to show for a classification model.")


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(model=args.model, video=args.video, output_dir=args.output_dir, seed=args.seed, top_k=args.top_k)
    return 0


def _add_model_and_inputs(parser: argparse.ArgumentParser, task: str) -> None:
    parser.add_argument("model", help=f"A model folder or Hub id ({task}).")
    parser.add_argument(
        "inputs",
        nargs="+",
        help="Media files (video with or without sound, or audio) and/or folders; a folder contributes its media "
        "files, by suffix, in name order.",
    )
    parser.add_argument("--recursive", action="store_true", help="Also take media files from subfolders.")
    parser.add_argument("--batch-size", type=int, default=1, help="Clips (or windows) per forward pass (default 1).")
    parser.add_argument("--device", default=None, help="Where the model runs: cpu, cuda, cuda:1, mps (default: cpu).")
    parser.add_argument(
        "--modalities",
        choices=["audio", "video", "audio+video"],
        default=None,
        help="Use only this input (default: what each file has; a video without a sound track is an error "
        "unless --missing-audio drop).",
    )
    parser.add_argument(
        "--missing-audio",
        choices=["error", "drop"],
        default=None,
        help="A video without a sound track: stop with an error (default) or use its frames alone.",
    )
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def _modalities(value: str | None):
    return None if value is None else tuple(value.split("+"))


def _add_predict(parser: argparse.ArgumentParser) -> None:
    _add_model_and_inputs(parser, "a classification or regression model")
    parser.add_argument(
        "--top-k", type=int, default=None, help="Labels per clip, best first (default 5). Not for regression."
    )
    parser.add_argument(
        "--function-to-apply",
        choices=["softmax", "sigmoid", "none"],
        default=None,
        help="Scores: softmax (default), sigmoid (default for multi-label models), none (raw logits; regression).",
    )
    parser.add_argument(
        "--chunk-length-s",
        type=float,
        default=None,
        help="Cut each recording into windows of this many seconds and predict each (a timeline).",
    )
    parser.add_argument(
        "--stride-length-s",
        type=float,
        default=None,
        help="Seconds between window starts (default: the window length; smaller values overlap).",
    )
    parser.add_argument(
        "--format", choices=["table", "jsonl"], default="table", help="A table (default) or one JSON object per file."
    )
    parser.add_argument("--output", default=None, help="Write the results to this file instead of standard output.")


def _run_predict(args: argparse.Namespace) -> int:
    from .predict import open_output, run_predict

    output = open_output(args.output)
    try:
        run_predict(
            args.model,
            args.inputs,
            recursive=args.recursive,
            output_format=args.format,
            output=output,
            batch_size=args.batch_size,
            device=args.device,
            progress=not args.quiet,
            top_k=args.top_k,
            function_to_apply=args.function_to_apply,
            chunk_length_s=args.chunk_length_s,
            stride_length_s=args.stride_length_s,
            modalities=_modalities(args.modalities),
            missing_audio=args.missing_audio,
        )
    finally:
        if output is not None:
            output.close()
    return 0


def _add_embed(parser: argparse.ArgumentParser) -> None:
    _add_model_and_inputs(parser, "any Social-MAE / CAV-MAE model; its encoder is used")
    parser.add_argument(
        "--output",
        required=True,
        help="A .safetensors file for the audio_embedding, video_embedding and fused_embedding tensors "
        "(files x dim, in input order; the file list is in its metadata).",
    )
    parser.add_argument(
        "--recall-at",
        default=None,
        help="Also print audio->video and video->audio retrieval recall@k over the files, e.g. 1,5,10.",
    )


def _run_embed(args: argparse.Namespace) -> int:
    from .embed import run_embed

    ks = None
    if args.recall_at is not None:
        try:
            ks = [int(k) for k in args.recall_at.split(",")]
        except ValueError as error:
            raise ValueError(f"--recall-at must be comma-separated integers, got {args.recall_at!r}") from error
    result = run_embed(
        args.model,
        args.inputs,
        args.output,
        recursive=args.recursive,
        batch_size=args.batch_size,
        device=args.device,
        modalities=_modalities(args.modalities),
        missing_audio=args.missing_audio,
        recall_ks=ks,
        progress=not args.quiet,
    )
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in result["tensors"].items())
    print(f"{len(result['files'])} file(s) -> {args.output}: {shapes}")
    if result["recall"] is not None:
        for direction, values in result["recall"].items():
            print(f"{direction:<15}" + "  ".join(f"R@{k} {v:.3f}" for k, v in values.items()))
    return 0


def _add_reconstruct(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="A pretraining model folder or Hub id (it needs the decoder).")
    parser.add_argument("input", help="A video file with a sound track.")
    parser.add_argument("--output", default="reconstruction.png", help="The PNG to write (default reconstruction.png).")
    parser.add_argument(
        "--mask-ratio",
        type=float,
        default=None,
        help="Share of audio and video patches removed (default: the model's, 0.75 for the released models).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the random mask (default 0).")
    parser.add_argument("--start-s", type=float, default=None, help="Use the clip from this time (seconds).")
    parser.add_argument("--end-s", type=float, default=None, help="Use the clip up to this time (seconds).")


def _run_reconstruct(args: argparse.Namespace) -> int:
    from transformers import AutoModelForPreTraining

    from .loading import load_config, load_feature_extractor, load_weights, saved_architecture
    from .reconstruction import reconstruct_file, render

    architecture = saved_architecture(load_config(args.model))
    if architecture != "SocialMAEForPreTraining":
        raise ValueError(
            f"{args.model}: was saved as {architecture or '?'}; reconstruction needs a pretraining "
            "model (SocialMAEForPreTraining, with its decoder)"
        )
    model = load_weights(AutoModelForPreTraining.from_pretrained, args.model)
    extractor = load_feature_extractor(args.model)
    result = reconstruct_file(
        model, extractor, args.input, mask_ratio=args.mask_ratio, seed=args.seed, start_s=args.start_s, end_s=args.end_s
    )
    title = f"{args.model} on {args.input}: reconstruction loss video {result.video_loss:.4f}, audio {result.audio_loss:.4f}"
    render(result, title).save(args.output)
    print(f"{args.output}: {title}")
    return 0


def _add_publish(parser: argparse.ArgumentParser) -> None:
    from .publish import CARDS

    parser.add_argument("checkpoint", help="The original .pth checkpoint.")
    parser.add_argument("--card", required=True, choices=sorted(CARDS), help="The model card (model_cards/<card>.md).")
    parser.add_argument(
        "--repo-id", default=None, help="Target Hub repository, organisation/name (default: the card's)."
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="Where to build the folder; must be new or empty (default publish/<organisation>--<name>).",
    )
    parser.add_argument(
        "--id2label",
        default=None,
        help="Label names in the head's output order (required for fine-tuned cards): a JSON file, a JSON "
        "list/object, or comma-separated names.",
    )
    parser.add_argument(
        "--base-model",
        default=None,
        help="Hub id of the pretrained model that fine-tuned cards name as base_model (default: the card's).",
    )
    _add_conversion_options(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="Build and verify the folder, list what would be uploaded, stop."
    )
    parser.add_argument("--private", action="store_true", help="Create the repository as private.")
    parser.add_argument("--commit-message", default=None, help="Message of the upload commit.")


def _run_publish(args: argparse.Namespace) -> int:
    from .publish import BASE_MODEL, publish

    publish(
        args.checkpoint,
        args.card,
        repo_id=args.repo_id,
        output_dir=args.output_dir,
        id2label=args.id2label,
        **_conversion_kwargs(args),
        base_model=args.base_model or BASE_MODEL,
        dry_run=args.dry_run,
        private=args.private,
        commit_message=args.commit_message,
    )
    return 0


def _add_synthetic_data(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument("--size", type=int, default=32, help="Square frame side in pixels (default 32).")
    parser.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="Manifest format (default csv).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of every split (default 0).")


def _run_synthetic_data(args: argparse.Namespace) -> int:
    from .synthetic_dataset import write_synthetic_dataset

    try:
        counts = {split: int(count) for split, count in (pair.split("=") for pair in args.num_clips.split(","))}
    except ValueError as error:
        raise ValueError(
            f"--num-clips {args.num_clips!r}: expected split=count pairs, e.g. train=64,test=32"
        ) from error
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


COMMANDS: dict[str, tuple[str, Command]] = {
    "demo": (
        "Generate a talking-face clip and run feature extraction and a model on it (offline, CPU).",
        (_add_demo, _run_demo),
    ),
    "predict": (
        "Classify media files and folders (labels, regression targets, or a timeline of windows).",
        (_add_predict, _run_predict),
    ),
    "embed": (
        "Pooled audio, video and fused embeddings of media files, saved as safetensors; optional retrieval recall.",
        (_add_embed, _run_embed),
    ),
    "reconstruct": (
        "Masked reconstruction of a clip as a PNG: frames and spectrogram, original / masked / reconstructed.",
        (_add_reconstruct, _run_reconstruct),
    ),
    "synthetic-data": (
        "Write a learnable synthetic audiovisual dataset (mp4 clips with sound + manifests) for trying the scripts.",
        (_add_synthetic_data, _run_synthetic_data),
    ),
    "convert": ("Convert an original .pth checkpoint into a save_pretrained folder.", (_add_convert, _run_convert)),
    "publish": (
        "Convert an original checkpoint with its model card, verify the folder reloads identically, upload it.",
        (_add_publish, _run_publish),
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="social-mae", description="Social-MAE / CAV-MAE audiovisual models for Hugging Face transformers."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, (add_arguments, run)) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    if quiet:
        from transformers.utils import logging

        logging.disable_progress_bar()  # transformers' own bars (loading weights)
    try:
        return args.run(args)
    except (ValueError, OSError) as error:
        print(f"social-mae {args.command}: error: {error}", file=sys.stderr)
        return 2
    finally:
        if quiet:
            logging.enable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
