"""`social-mae predict`: the classification pipeline over files and folders, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from ..files import ReplacedAtEnd
from .inputs import (
    add_face_crop,
    add_model_and_inputs,
    check_device,
    check_model_first,
    collect_media,
    face_crop_option,
    load_command_pipeline,
    model_kwargs,
    parse_modalities,
    positive_int,
)
from .per_file import FileFailure, add_windows, count_windows, report_failures, run_per_file

__all__ = ["format_row", "run_predict", "without_nan"]

HELP = "Classify media files and folders (labels, regression targets, or a timeline of windows)."


def _pairs(scores: list[dict]) -> str:
    return "  ".join(f"{row['label']} {row['score']:.3f}" for row in scores)


def _face(row: dict) -> str:
    """The face column: whether the crop found a face ("-": no frames, e.g. an audio file)."""
    return {True: "yes", False: "no"}.get(row.get("face_found"), "-")


def _line(name: str, width: int, window: str | None, face: str | None, text: str) -> str:
    columns = [f"{name:<{width}}"]
    if window is not None:
        columns.append(f"{window:<17}")
    if face is not None:
        columns.append(f"{face:<4}")
    return "  ".join([*columns, text])


def format_row(name: str, result: list, width: int, face: bool = False) -> list[str]:
    """Table lines for one file: its predictions, or one line per window of a timeline; with `face`, a column
    saying whether the face crop found a face (when not, the whole frames were used)."""
    if result and "start" in result[0]:
        return [
            _line(name, width, f"{w['start']:.2f}-{w['end']:.2f}", _face(w) if face else None, _pairs(w["scores"]))
            for w in result
        ]
    return [_line(name, width, None, (_face(result[0]) if result else "-") if face else None, _pairs(result))]


def without_nan(value):
    """`value` with every NaN / infinite float replaced by None (JSON has neither), and whether there were any."""
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else (None, True)
    if isinstance(value, dict):
        pairs = {key: without_nan(item) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(found for _, found in pairs.values())
    if isinstance(value, list):
        items = [without_nan(item) for item in value]
        return [item for item, _ in items], any(found for _, found in items)
    return value, False


def run_predict(
    model: str,
    inputs: list[str],
    *,
    recursive: bool = False,
    output_format: str = "table",
    output: TextIO | None = None,
    batch_size: int = 1,
    device: str | None = None,
    progress: bool = True,
    on_error: str = "skip",
    face_crop: dict | bool | None = None,
    audio_channel_mix: str | None = None,
    model_kwargs: dict | None = None,
    **call_params,
) -> tuple[list[dict], list[FileFailure]]:
    """Classify every input file (folders: their media files); returns `[{"file", "predictions" | "timeline"}]`
    and the files that could not be used (`on_error="skip"`; with `"abort"` the first one raises).

    `call_params` are the pipeline's (`top_k`, `function_to_apply`, `chunk_length_s`, `stride_length_s`,
    `modalities`, `missing_audio`, `audio_stream`); None values are left out. `face_crop` replaces the
    processor's (see `loading.with_face_crop`); when the processor crops, each record (each window of a timeline)
    has `face_found`. `audio_channel_mix` replaces the processor's. `model_kwargs` go to `from_pretrained`
    (`dtype`, `trust_remote_code`).
    """
    if output_format not in ("table", "jsonl"):
        raise ValueError(f"output format must be 'table' or 'jsonl', got {output_format!r}")
    from tqdm.auto import tqdm

    from ..pipelines import CLASSIFICATION_TASK

    out = output or sys.stdout
    check_model_first("predict", model, inputs)
    check_device(device)
    files = collect_media(inputs, recursive)
    classifier = load_command_pipeline(
        CLASSIFICATION_TASK,
        model,
        device=device,
        face_crop=face_crop,
        audio_channel_mix=audio_channel_mix,
        **(model_kwargs or {}),
    )
    face = classifier.crops_faces
    params = {k: v for k, v in call_params.items() if v is not None}
    names = [str(f) for f in files]
    width = max(len(n) for n in names)
    timeline = params.get("chunk_length_s") is not None
    if output_format == "table":
        print(
            _line("file", width, "window (s)" if timeline else None, "face" if face else None, "predictions"), file=out
        )
    records: list[dict] = []
    failures: list[FileFailure] = []
    bar = tqdm(total=len(names), unit="file", disable=not progress, file=sys.stderr)
    windows = tqdm(unit="window", disable=not (progress and timeline), file=sys.stderr, position=1, leave=False)
    count_windows(classifier, windows)
    for name, result in run_per_file(
        lambda group: classifier(group, batch_size=batch_size, **params), names, batch_size, on_error, failures
    ):
        if timeline:
            record = {"file": name, "timeline": result}
        else:  # the clip's face_found once, not in every label row
            found = {"face_found": result[0]["face_found"]} if result and "face_found" in result[0] else {}
            rows = [{key: value for key, value in row.items() if key != "face_found"} for row in result]
            record = {"file": name, **found, "predictions": rows}
        records.append(record)
        json_record, not_finite = without_nan(record)
        if not_finite:
            shown = "null" if output_format == "jsonl" else "nan"
            bar.write(f"warning: {name}: the model gave NaN or infinite scores (shown as {shown})", file=sys.stderr)
        if output_format == "jsonl":
            text = json.dumps(json_record, allow_nan=False)  # JSON has no NaN
        else:
            text = "\n".join(format_row(name, result, width, face))
        bar.write(text, file=out)  # above the progress bar, not through it
        out.flush()  # each file's results are on disk as soon as they are done: a killed run keeps them
        bar.update(len(records) + len(failures) - bar.n)
    bar.update(len(records) + len(failures) - bar.n)
    windows.close()
    bar.close()
    if face:
        clips = [w for r in records for w in r.get("timeline", [r]) if "face_found" in w]
        missed = sum(not w["face_found"] for w in clips)
        what = "window(s)" if timeline else "file(s)"
        print(f"face crop: {missed} of {len(clips)} {what} without a face (whole frames used)", file=sys.stderr)
    return records, failures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_and_inputs(parser, "a classification or regression model")
    parser.add_argument(
        "--top-k", type=positive_int, default=None, help="Labels per clip, best first (default 5). Not for regression."
    )
    parser.add_argument(
        "--function-to-apply",
        choices=["softmax", "sigmoid", "none"],
        default=None,
        help="Scores: softmax (default), sigmoid (default for multi-label models), none (raw logits; regression).",
    )
    add_windows(parser, "predict")
    parser.add_argument(
        "--format", choices=["table", "jsonl"], default="table", help="A table (default) or one JSON object per file."
    )
    parser.add_argument(
        "--output",
        default=None,
        help="Write the results to this file instead of standard output; it is replaced only when the run ends "
        "with results (an earlier file stays as it was otherwise). Until then each file's results are written to "
        "OUTPUT.partial as soon as they are done, which a stopped run leaves behind. A device or FIFO "
        "(/dev/stdout) is written to directly.",
    )
    add_face_crop(parser)


def run(args: argparse.Namespace) -> int:
    face_crop = face_crop_option(args)

    def predict(output: TextIO | None) -> tuple[list[dict], list[FileFailure]]:
        return run_predict(
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
            modalities=parse_modalities(args.modalities),
            missing_audio=args.missing_audio,
            on_error=args.on_error,
            face_crop=face_crop,
            audio_stream=args.audio_stream,
            audio_channel_mix=args.audio_channel_mix,
            model_kwargs=model_kwargs(args),
        )

    if args.output is None:
        records, failures = predict(None)
    else:
        with (
            ReplacedAtEnd(args.output, keep_partial=True) as output,
            open(output.path, "w", encoding="utf-8") as handle,
        ):
            records, failures = predict(handle)
            if not records:
                output.discard()  # keep an earlier result rather than replace it with nothing
    return report_failures(args, failures, len(records) + len(failures))
