"""`social-mae` command line: one subcommand per job, each a thin wrapper over the package."""

import argparse
import sys
from collections.abc import Callable, Sequence

Command = tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _add_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="Original Social-MAE or CAV-MAE .pth file (with or without `module.`).")
    parser.add_argument("output_dir", help="Folder to write config.json and model.safetensors into.")
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
        num_frames=args.num_frames,
        num_attention_heads=args.num_attention_heads,
        decoder_num_attention_heads=args.decoder_num_attention_heads,
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


COMMANDS: dict[str, tuple[str, Command]] = {
    "demo": (
        "Generate a talking-face clip and run feature extraction and a model on it (offline, CPU).",
        (_add_demo, _run_demo),
    ),
    "convert": ("Convert an original .pth checkpoint into a save_pretrained folder.", (_add_convert, _run_convert)),
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
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"social-mae {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
