"""`social-mae embed`: pooled embeddings of files into one safetensors file, and retrieval recall on the set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..files import ReplacedAtEnd
from .inputs import (
    add_face_crop,
    add_model_and_inputs,
    check_device,
    check_model_first,
    collect_media,
    load_command_pipeline,
    positive_int,
    run_options,
)
from .per_file import add_windows, report_failures, run_per_file, watch_windows

if TYPE_CHECKING:
    import torch

__all__ = ["run_embed"]

KEYWORD_FLAGS = {"recall_ks": "--recall-at"}
HELP = "Pooled audio, video and fused embeddings of media files, saved as safetensors; optional retrieval recall."


def run_embed(
    model: str,
    inputs: list[str],
    output: str,
    *,
    recursive: bool = False,
    batch_size: int = 1,
    device: str | None = None,
    modalities: str | tuple[str, ...] | None = None,
    missing_audio: str | None = None,
    recall_ks: list[int] | None = None,
    progress: bool = True,
    on_error: str = "skip",
    face_crop: dict | bool | None = None,
    audio_stream: int | None = None,
    audio_channel_mix: str | None = None,
    model_kwargs: dict | None = None,
    chunk_length_s: float | None = None,
    stride_length_s: float | None = None,
) -> dict:
    """Embed every input file; writes `{audio,video,fused}_embedding` `(files, dim)` tensors to `output`
    (safetensors, with the embedded files and the model in its metadata). With `recall_ks`, also audio->video and
    video->audio recall@k over the files (they must have both modalities). Files that cannot be used are left out
    and listed under "failures" (`on_error="skip"`), or stop the run (`"abort"`). `face_crop` replaces the
    processor's (see `loading.with_face_crop`); when the processor crops video, a `face_found` `(files,)` bool
    tensor is written too. `audio_stream` picks the audio track of every file; `audio_channel_mix` replaces the
    processor's; `model_kwargs` go to `from_pretrained` (`dtype`, `trust_remote_code`). With `chunk_length_s`
    (and `stride_length_s`), each file is cut into windows and the tensors are `(windows, dim)`, every file's
    windows in turn, with `window_file` (the index of its file), `window_start_s` and `window_end_s`. Returns
    `{"tensors", "files", "failures", "recall"}`: the tensors, the embedded files, the failures and the recall."""
    if Path(output).suffix != ".safetensors":
        raise ValueError(f"{output}: the output must be a .safetensors file")
    from safetensors.torch import save
    from tqdm.auto import tqdm

    from ..pipelines import FEATURE_EXTRACTION_TASK
    from ..retrieval import recall_at_k

    chosen = (modalities,) if isinstance(modalities, str) else tuple(modalities or ("audio", "video"))
    if recall_ks and set(chosen) != {"audio", "video"}:
        raise ValueError(
            f"`recall_ks` needs audio and video embeddings of every file, but modalities='{'+'.join(chosen)}' "
            "leaves one out"
        )
    check_model_first("embed", model, inputs)
    check_device(device)
    with ReplacedAtEnd(output) as pending:  # a folder that cannot be written is reported before any work
        files = collect_media(inputs, recursive)
        embedder = load_command_pipeline(
            FEATURE_EXTRACTION_TASK,
            model,
            device=device,
            face_crop=face_crop,
            audio_channel_mix=audio_channel_mix,
            **(model_kwargs or {}),
        )
        params = {
            "modalities": modalities,
            "missing_audio": missing_audio,
            "audio_stream": audio_stream,
            "chunk_length_s": chunk_length_s,
            "stride_length_s": stride_length_s,
        }
        params = {k: v for k, v in params.items() if v is not None}
        timeline = chunk_length_s is not None
        failures = []
        paths = [str(f) for f in files]
        embedded = run_per_file(
            lambda group: embedder([paths[i] for i in group], batch_size=batch_size, return_tensors=True, **params),
            paths,
            batch_size,
            on_error,
            failures,
        )
        names, rows = [], []
        windows = tqdm(unit="window", disable=not (progress and timeline), file=sys.stderr, position=1, leave=False)
        watch_windows(embedder, windows)
        with windows, tqdm(total=len(files), unit="file", disable=not progress, file=sys.stderr) as bar:
            for index, row in embedded:
                names.append(paths[index])
                rows.append(row)
                bar.update(len(names) + len(failures) - bar.n)  # skipped files count as done
            bar.update(len(names) + len(failures) - bar.n)
        tensors = _stack_timelines(names, rows, failures) if timeline else _stack(names, rows, failures)
        data = save(tensors, metadata={"files": json.dumps(names), "model": str(model)})
        with open(pending.path, "wb") as handle:  # a FIFO or device output is written through, not replaced
            handle.write(data)
    recall = None
    if recall_ks:
        if "audio_embedding" not in tensors or "video_embedding" not in tensors:
            raise ValueError("retrieval needs audio and video embeddings of every file")
        recall = recall_at_k(tensors["audio_embedding"], tensors["video_embedding"], ks=recall_ks)
    return {"tensors": tensors, "files": names, "failures": failures, "recall": recall}


def _stack(names: list[str], rows: list[dict], failures) -> dict[str, torch.Tensor]:
    """`(files, dim)` tensors of the rows, which must hold the same embeddings."""
    import torch

    from ..pipelines import EMBEDDING_KEYS

    if not rows:
        raise ValueError("no file could be embedded:\n  " + "\n  ".join(failure.message for failure in failures))
    keys = [k for k in EMBEDDING_KEYS if k in rows[0]]
    for name, row in zip(names, rows):
        if [k for k in EMBEDDING_KEYS if k in row] != keys:
            raise ValueError(
                f"{name}: has embeddings {sorted(k for k in row if k in EMBEDDING_KEYS)} but {names[0]} has {keys}; "
                "embed files with the same modalities together (see --modalities)"
            )
    tensors = {k: torch.stack([row[k] for row in rows]).contiguous() for k in keys}
    if "face_found" in rows[0]:  # the face crop ran (on every file: they have the same modalities)
        tensors["face_found"] = torch.tensor([row["face_found"] for row in rows], dtype=torch.bool)
    return tensors


def _stack_timelines(names: list[str], timelines: list[list[dict]], failures) -> dict[str, torch.Tensor]:
    """`(windows, dim)` tensors of every file's windows in turn, with each window's file index and times."""
    import torch

    windows = [window for timeline in timelines for window in timeline]
    if not windows:
        return _stack(names, [], failures)
    owners = [(index, names[index]) for index, timeline in enumerate(timelines) for _ in timeline]
    tensors = _stack([name for _, name in owners], windows, failures)
    tensors["window_file"] = torch.tensor([index for index, _ in owners], dtype=torch.int64)
    tensors["window_start_s"] = torch.tensor([w["start"] for w in windows], dtype=torch.float64)
    tensors["window_end_s"] = torch.tensor([w["end"] for w in windows], dtype=torch.float64)
    return tensors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_and_inputs(parser, "any Social-MAE / CAV-MAE model; its encoder is used")
    parser.add_argument(
        "--output",
        required=True,
        help="A .safetensors file for the audio_embedding, video_embedding and fused_embedding tensors "
        "(files x dim, in input order; the list of embedded files is in its metadata). It is replaced only when "
        "the run ends with embeddings.",
    )
    parser.add_argument(
        "--recall-at",
        default=None,
        help="Also print audio->video and video->audio retrieval recall@k over the files (over the windows with "
        "--chunk-length-s), e.g. 1,5,10.",
    )
    add_windows(parser, "embed")
    add_face_crop(parser)


def run(args: argparse.Namespace) -> int:
    ks = None
    if args.recall_at is not None:
        try:
            ks = [positive_int(k) for k in args.recall_at.split(",")]
        except argparse.ArgumentTypeError:
            raise ValueError(f"--recall-at must be comma-separated integers >= 1, got {args.recall_at!r}") from None
    result = run_embed(
        args.model,
        args.inputs,
        args.output,
        recursive=args.recursive,
        recall_ks=ks,
        chunk_length_s=args.chunk_length_s,
        stride_length_s=args.stride_length_s,
        **run_options(args),
    )
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in result["tensors"].items())
    print(f"{len(result['files'])} file(s) -> {args.output}: {shapes}")
    found = result["tensors"].get("face_found")
    if found is not None:
        print(f"face crop: {int((~found).sum())} of {len(found)} file(s) without a face (whole frames used)")
    if result["recall"] is not None:
        for direction, values in result["recall"].items():
            print(f"{direction:<15}" + "  ".join(f"R@{k} {v:.3f}" for k, v in values.items()))
    return report_failures(args, result["failures"], len(result["files"]) + len(result["failures"]))
