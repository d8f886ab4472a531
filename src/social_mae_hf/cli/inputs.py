"""Which files a command runs on (the files named, and the media files in the folders named), the options of the
commands that run a model over them (among them the face crop and the dtype), and the pipeline those options give:
the model and processor come from `loading` (`load_model`, `load_processor`), the one way in."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .per_file import add_on_error

__all__ = [
    "DTYPES",
    "FACE_DETECTOR_CHOICES",
    "MEDIA_SUFFIXES",
    "add_audio_options",
    "add_face_crop",
    "add_model_and_inputs",
    "add_model_loading",
    "add_run_options",
    "check_device",
    "check_model_first",
    "collect_media",
    "face_crop_option",
    "give_face_crop_its_detector",
    "load_command_pipeline",
    "model_kwargs",
    "non_negative_int",
    "parse_modalities",
    "positive_int",
    "run_options",
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
        elif path.is_file():
            files.append(path)
        elif path.exists():  # reading a FIFO or a device would wait forever or never end
            raise ValueError(f"{path}: is not a regular file (a FIFO, device or socket); give a media file")
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    if not files:
        raise ValueError(
            f"no media files in {', '.join(map(str, paths))} (looked for {', '.join(sorted(MEDIA_SUFFIXES))})"
        )
    if skipped:
        print(f"skipping {len(skipped)} non-media file(s), e.g. {skipped[0]}", file=sys.stderr)
    return files


def add_model_and_inputs(parser: argparse.ArgumentParser, task: str, manifests: bool = False) -> None:
    parser.add_argument("model", help=f"A model folder or Hub id ({task}).")
    manifest_help = (
        "; a manifest (.csv as `social-mae manifest` writes, or .tsv, .jsonl, .json: video and/or audio columns, "
        "paths relative to it) "
        "contributes its rows, with their labels or target values"
        if manifests
        else ""
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        help="Media files (video with or without sound, or audio) and/or folders; a folder contributes its media "
        f"files, by suffix, in name order{manifest_help}.",
    )
    parser.add_argument("--recursive", action="store_true", help="Also take media files from subfolders.")
    add_run_options(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """How a model runs over the inputs: batching, device, modalities, sound, loading, bad files, progress."""
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=1,
        help="Clips (or windows) per forward pass (default 1), taken across files: the windows of one file or of "
        "several are stacked into one forward. The results are those of batch 1.",
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
    add_model_loading(parser)
    add_on_error(parser)
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def run_options(args: argparse.Namespace) -> dict:
    """The run keyword arguments that `add_run_options`'s options (and `add_face_crop`'s) ask for, as the commands'
    `run_*` functions take them."""
    return {
        "batch_size": args.batch_size,
        "device": args.device,
        "modalities": parse_modalities(args.modalities),
        "missing_audio": args.missing_audio,
        "audio_stream": args.audio_stream,
        "audio_channel_mix": args.audio_channel_mix,
        "model_kwargs": model_kwargs(args),
        "on_error": args.on_error,
        "progress": not args.quiet,
        "face_crop": face_crop_option(args),
    }


# `--dtype` choices: torch dtype names, and "auto" (the dtype the model was saved in, as transformers means it).
DTYPES = ("float32", "bfloat16", "float16", "auto")


def add_model_loading(parser: argparse.ArgumentParser) -> None:
    """How the model is loaded: its dtype, and whether a folder of ours may run its own code files."""
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default=None,
        help="The model's dtype (default: auto, the dtype it was saved in: float32 for converted models). bfloat16 "
        "runs several times as fast on CPUs with AMX / AVX512-BF16 and on recent GPUs, with logits within about "
        "0.01 of float32's; the inputs are cast to it.",
    )
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="Load a Social-MAE / CAV-MAE folder with the code files it carries instead of this package's. A "
        "folder of another model type is refused either way, and its code never runs.",
    )


def model_kwargs(args: argparse.Namespace) -> dict:
    """The `from_pretrained` keyword arguments that `add_model_loading`'s options ask for."""
    kwargs = {"dtype": args.dtype} if args.dtype is not None else {}
    return {**kwargs, "trust_remote_code": True} if args.trust_remote_code else kwargs


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


# What `--face-crop` may be followed by; anything else after it is the next argument, not its detector. "default"
# is what a bare `--face-crop` means: the face crop's default detector (`face_crop.FaceCropSettings`).
FACE_DETECTOR_CHOICES = ("default", "mtcnn", "haar", "yunet", "none")
_BARE_FACE_CROP = "default"


def give_face_crop_its_detector(argv: list[str]) -> list[str]:
    """`argv` with a bare `--face-crop` written `--face-crop=default`, so that argparse cannot take the argument
    after it (`predict MODEL --face-crop clip.mp4`) as its detector."""
    return [
        f"--face-crop={_BARE_FACE_CROP}"
        if arg == "--face-crop" and (i + 1 == len(argv) or argv[i + 1] not in FACE_DETECTOR_CHOICES)
        else arg
        for i, arg in enumerate(argv)
    ]


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
        const=_BARE_FACE_CROP,
        default=None,
        choices=FACE_DETECTOR_CHOICES,
        metavar="DETECTOR",
        help="Alone: the default detector (see Face-centred clips in the README). Or name one: mtcnn, haar "
        '(OpenCV\'s Haar cascade, offline; needs pip install "social-mae-hf[face]"), '
        "yunet (better on turned and small faces; needs --face-detector-model), or none (whole frames even when "
        "the model's processor crops). Without it: the model's processor decides (no crop, unless it was saved "
        "with one).",
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


def face_crop_option(args: argparse.Namespace) -> dict | bool | None:
    """The face crop the options ask for, checked before anything is loaded (a missing model file, options that do
    not go together), in the one form the processor takes: None (the model's processor decides), False or a
    settings dict."""
    from ..loading import face_crop_from_flags

    return face_crop_from_flags(
        args.face_crop,
        face_margin=args.face_margin,
        face_detector_model=args.face_detector_model,
        face_smoothing=args.face_smoothing,
    )


def load_command_pipeline(
    task: str,
    model: str,
    *,
    device: str | None = None,
    face_crop: dict | bool | None = None,
    audio_channel_mix: str | None = None,
    **model_kwargs,
):
    """`pipeline(task)` on `model` loaded through `loading` (so that its errors are one line, not the traceback
    dump of `pipeline(task, model=name)`), with the processor's `face_crop` and `audio_channel_mix` when given;
    `model_kwargs` go to `from_pretrained` (`dtype`, `trust_remote_code`)."""
    from transformers import AutoModel, pipeline

    from ..auto import AutoModelForAudioVisualClassification
    from ..loading import load_model, load_processor
    from ..pipelines import CLASSIFICATION_TASK

    if task == CLASSIFICATION_TASK:
        loaded = load_model(model, AutoModelForAudioVisualClassification, needs="head", **model_kwargs)
    else:
        loaded = load_model(model, AutoModel, **model_kwargs)
    processor = load_processor(model, face_crop=face_crop, audio_channel_mix=audio_channel_mix)
    return pipeline(task, model=loaded, processor=processor, device=device)
