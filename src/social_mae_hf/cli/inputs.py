"""Which files a command runs on (the files named, and the media files in the folders named), the options of the
commands that run a model over them (among them the face crop), and the processor and pipeline those options give."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .per_file import add_on_error

__all__ = [
    "FACE_OPTIONS",
    "MEDIA_SUFFIXES",
    "add_audio_options",
    "add_face_crop",
    "add_model_and_inputs",
    "check_device",
    "check_face_options",
    "check_model_first",
    "collect_media",
    "face_options",
    "load_command_pipeline",
    "load_command_processor",
    "non_negative_int",
    "parse_modalities",
    "positive_int",
]

# Containers PyAV reads that hold video or audio; other files in a folder are left out (and counted).
MEDIA_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"}
    | {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma"}
)


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type of counts: a whole number >= 1."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type of indices: a whole number >= 0."""
    return _whole_number(text, 0)


def check_device(device: str | None) -> None:
    """Refuse a device torch does not know, or one this machine does not have, before the model loads."""
    if device is None:
        return
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {device}: not a device; use cpu, cuda, cuda:1, mps, ...") from None
    backend = {"cuda": torch.cuda, "mps": getattr(torch.backends, "mps", None)}.get(kind, getattr(torch, kind, None))
    available = getattr(backend, "is_available", None)
    if kind != "cpu" and (available is None or not available()):
        build = f"torch {torch.__version__}" + (
            " (built without CUDA)" if kind == "cuda" and not torch.version.cuda else ""
        )
        raise ValueError(f"--device {device}: no {kind} device is available here ({build}); use --device cpu")
    index = torch.device(device).index
    if kind == "cuda" and index is not None and index >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def check_model_first(command: str, model: str, inputs: list[str]) -> None:
    """Say so when the arguments look swapped: a media file where the model goes."""
    if Path(model).suffix.lower() not in MEDIA_SUFFIXES:
        return
    model_like = [i for i in inputs if Path(i, "config.json").is_file() or not Path(i).exists()]
    hint = f"; {model_like[0]} looks like the model" if model_like else ""
    usage = f"social-mae {command} MODEL {'INPUT' if command == 'reconstruct' else 'INPUTS...'}"
    raise ValueError(f"{model}: is a media file, but the model comes first ({usage}){hint}")


def collect_media(paths: list[str | os.PathLike], recursive: bool = False) -> list[Path]:
    """The files to run on: files are taken as given (a non-media file then fails, naming itself); folders
    contribute their media files by suffix, sorted, subfolders too with `recursive` (the others are left out, with
    a note on standard error)."""
    files, skipped = [], []
    for path in map(Path, paths):
        if path.is_dir() and (path / "config.json").is_file():
            raise ValueError(f"{path}: is a model folder, not media; the model is the first argument only")
        if path.is_dir():
            found = sorted(p for p in (path.rglob("*") if recursive else path.iterdir()) if p.is_file())
            for p in found:
                (files if p.suffix.lower() in MEDIA_SUFFIXES else skipped).append(p)
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    if not files:
        raise ValueError(
            f"no media files in {', '.join(map(str, paths))} (looked for {', '.join(sorted(MEDIA_SUFFIXES))})"
        )
    if skipped:
        print(f"skipping {len(skipped)} non-media file(s), e.g. {skipped[0]}", file=sys.stderr)
    return files


def add_model_and_inputs(parser: argparse.ArgumentParser, task: str) -> None:
    parser.add_argument("model", help=f"A model folder or Hub id ({task}).")
    parser.add_argument(
        "inputs",
        nargs="+",
        help="Media files (video with or without sound, or audio) and/or folders; a folder contributes its media "
        "files, by suffix, in name order.",
    )
    parser.add_argument("--recursive", action="store_true", help="Also take media files from subfolders.")
    parser.add_argument(
        "--batch-size", type=positive_int, default=1, help="Clips (or windows) per forward pass (default 1)."
    )
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
    add_audio_options(parser)
    add_on_error(parser)
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def add_audio_options(parser: argparse.ArgumentParser) -> None:
    """Which sound of a media file is heard: several tracks, or a voice in a 5.1 centre channel, need a choice."""
    parser.add_argument(
        "--audio-stream",
        type=non_negative_int,
        default=None,
        help="Audio track to use, 0-based among a file's audio tracks (default: the track flagged as default, "
        "else the first).",
    )
    parser.add_argument(
        "--audio-channel-mix",
        choices=["first", "mean", "downmix"],
        default=None,
        help="How channels become one (default: the model's processor's, first for the released models): the "
        "first channel, their mean, or FFmpeg's mono downmix, which keeps a 5.1 centre channel.",
    )


def parse_modalities(value: str | None):
    return None if value is None else tuple(value.split("+"))


# The face crop's options, by their argparse `dest` (the keyword names of `face_crop.face_crop_from_options`).
FACE_OPTIONS = ("face_crop", "face_margin", "face_detector_model", "face_smoothing")


def add_face_crop(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "face crop",
        "Crop the sampled frames around the face before the resize: the models were trained on "
        "face-centred clips, in-the-wild footage needs the same framing. A clip without a face keeps its whole "
        "frames, and is reported.",
    )
    group.add_argument(
        "--face-crop",
        nargs="?",
        const="haar",
        default=None,
        choices=["haar", "yunet", "none"],
        metavar="DETECTOR",
        help='haar (the default detector: OpenCV\'s Haar cascade, offline; needs pip install "social-mae-hf[face]"), '
        "yunet (better on turned and small faces; needs --face-detector-model), or none (whole frames even when "
        "the model's processor crops). Without it: the model's processor decides (no crop, unless it was saved "
        "with one). Put it after the inputs, or give the detector.",
    )
    group.add_argument(
        "--face-margin", type=float, default=None, help="Side of the square crop / the face size (default 1.3)."
    )
    group.add_argument(
        "--face-detector-model",
        default=None,
        metavar="PATH",
        help="The detector's model file: YuNet's face_detection_yunet_2023mar.onnx (OpenCV Zoo), or a Haar cascade "
        "XML instead of OpenCV's frontal-face one.",
    )
    group.add_argument(
        "--face-smoothing",
        choices=["clip", "running_median", "none"],
        default=None,
        help="Where the crop goes over time: one still crop at the face's median place (clip, the default), a "
        "running median over 3 sampled frames (running_median: follows a moving face), or each frame's box (none).",
    )


def face_options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in FACE_OPTIONS}


def check_face_options(options: dict | None) -> None:
    """Refuse face crop options that do not go together (or a missing model file) before anything is loaded."""
    from ..face_crop import face_crop_from_options

    face_crop_from_options(**(options or {}))


def load_command_processor(model: str, face_options: dict | None = None, audio_channel_mix: str | None = None):
    """The model's processor with the command's options: the face crop `face_options` ask for (`FACE_OPTIONS`;
    without `face_crop`, the processor's own setting stays), its detector built, so that a missing OpenCV or model
    file stops the command before any file is read; and `--audio-channel-mix` (the processor's own without it)."""
    from ..loading import load_processor, with_face_crop

    options = face_options or {}
    processor = load_processor(model)
    try:
        processor = with_face_crop(processor, **options)
    except ImportError as error:  # a one-line error, as for the other options
        detector = processor.video_processor.face_crop or {"detector": options.get("face_crop")}
        raise ValueError(f"face crop with detector {detector['detector']!r}: {error}") from None
    if audio_channel_mix is not None:
        processor.feature_extractor.audio_channel_mix = audio_channel_mix
    return processor


def load_command_pipeline(
    task: str, model: str, *, device: str | None, face_options: dict | None, audio_channel_mix: str | None
):
    """`pipeline(task)` on `model` with the command's processor options; the model's loading errors are raised
    as they are (one line), not in the traceback dump of `pipeline(task, model=name)`."""
    from transformers import pipeline

    from ..pipelines import load_pipeline_model

    loaded = load_pipeline_model(task, model)
    processor = load_command_processor(model, face_options, audio_channel_mix)
    return pipeline(task, model=loaded, processor=processor, device=device)
