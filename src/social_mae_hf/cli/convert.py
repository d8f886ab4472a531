"""`social-mae convert`: an original .pth checkpoint -> a `save_pretrained` folder."""

import argparse

HELP = "Convert an original .pth checkpoint into a save_pretrained folder."


def add_conversion_options(parser: argparse.ArgumentParser) -> None:
    """What tensor shapes cannot tell the converter (shared by `convert` and `publish`)."""
    parser.add_argument(
        "--num-frames",
        type=int,
        default=None,
        help="Frames per clip the Social-MAE checkpoint was trained with (default 8, as released): the tensors fix "
        "frames x image size, not each. Not for CAV-MAE (one frame).",
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


def conversion_kwargs(args: argparse.Namespace) -> dict:
    """The options of [`add_conversion_options`], as `convert_checkpoint` / `publish` take them."""
    return {
        "num_frames": args.num_frames,
        "num_attention_heads": args.num_attention_heads,
        "decoder_num_attention_heads": args.decoder_num_attention_heads,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="Original Social-MAE or CAV-MAE .pth file (with or without `module.`).")
    parser.add_argument(
        "output_dir", help="Folder to write config.json and model.safetensors into: new or empty, unless --overwrite."
    )
    add_conversion_options(parser)
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
        "--overwrite",
        action="store_true",
        help="Replace the model in a non-empty output folder (refused otherwise). Its label names are kept unless "
        "--id2label gives new ones.",
    )
    parser.add_argument(
        "--no-processor",
        "--no-feature-extractor",  # its name before the processor split
        dest="no_processor",
        action="store_true",
        help="Do not write the matching processor (processor_config.json: how media become inputs) next to the "
        "weights. --no-feature-extractor is the same.",
    )


def run(args: argparse.Namespace) -> int:
    from ..conversion.convert import convert_checkpoint

    model = convert_checkpoint(
        args.checkpoint,
        args.output_dir,
        **conversion_kwargs(args),
        task=args.task,
        id2label=args.id2label,
        write_processor=not args.no_processor,
        overwrite=args.overwrite,
        log=print,
    )
    config = model.config
    print(
        f"{type(model).__name__}: {sum(p.numel() for p in model.parameters()):,} parameters, "
        f"{config.num_frames} frame(s) of {config.image_size}px, {config.audio_length} audio frames -> "
        f"{args.output_dir}"
    )
    return 0
