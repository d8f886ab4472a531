"""`social-mae reconstruct`: masked reconstruction of a clip drawn as a PNG."""

import argparse
from pathlib import Path

from .inputs import add_audio_options, add_face_crop, add_model_loading, face_crop_option, model_kwargs

HELP = (
    "Masked reconstruction of a clip as a PNG: frames and spectrogram, original / masked / reconstructed; with "
    "--face-crop, the sampled frames with the crop drawn."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
    add_audio_options(parser)
    add_model_loading(parser)
    add_face_crop(parser)


def run(args: argparse.Namespace) -> int:
    from ..files import ReplacedAtEnd
    from ..reconstruction import check_mask_ratio
    from .inputs import check_model_first

    check_model_first("reconstruct", args.model, [args.input])
    face_crop = face_crop_option(args)
    check_mask_ratio(args.mask_ratio)
    if Path(args.output).suffix.lower() != ".png":
        raise ValueError(f"--output {args.output}: the picture is written as PNG; give a .png file name")
    with ReplacedAtEnd(args.output) as output:  # a folder that cannot be written is reported before any work
        title = _reconstruct(args, face_crop, output.path)
    print(f"{args.output}: {title}")
    return 0


def _reconstruct(args: argparse.Namespace, face_crop, png) -> str:
    """Draw the reconstruction into `png`; returns its title."""
    from transformers import AutoModelForPreTraining

    from ..loading import load_model, load_processor
    from ..reconstruction import reconstruct_file, render

    model = load_model(args.model, AutoModelForPreTraining, needs="pretraining", **model_kwargs(args))
    processor = load_processor(args.model, face_crop=face_crop, audio_channel_mix=args.audio_channel_mix)
    result = reconstruct_file(
        model,
        processor,
        args.input,
        mask_ratio=args.mask_ratio,
        seed=args.seed,
        start_s=args.start_s,
        end_s=args.end_s,
        audio_stream=args.audio_stream,
    )
    losses = f"video {result.video_loss:.4f}, audio {result.audio_loss:.4f}"
    title = f"{args.model} on {args.input}: reconstruction loss {losses}"
    if result.face_found is not None:
        title += "; face crop" if result.face_found else "; no face: full frame"
    render(result, title).save(png, format="PNG")
    return title
