"""`social-mae predict`: the classification pipeline over files and folders, as a table or JSON lines."""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..files import ReplacedAtEnd
from ..manifests.reading import MANIFEST_BUILDERS, load_manifest, media_path
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
from .per_file import FileFailure, WindowOwners, add_windows, report_failures, run_per_file, watch_windows

__all__ = [
    "OUTPUT_FORMATS",
    "Clip",
    "PredictRun",
    "ResultWriter",
    "add_label_column",
    "clips_of",
    "format_row",
    "predict_clips",
    "run_predict",
    "truths",
    "without_nan",
]

HELP = (
    "Classify media files, folders and manifests (labels, regression targets, or a timeline of windows; a "
    "manifest's labels are shown next to the predictions)."
)
KEYWORD_FLAGS = {"output_format": "--format"}
OUTPUT_FORMATS = ("table", "jsonl", "csv")


@dataclass(frozen=True)
class Clip:
    """One input: `name` is what outputs call it (the video's path, else the audio's), `source` what the pipeline
    takes (a path, or `{"video": path, "audio": path}` for a row with both), `row` its manifest row (None for a
    media file named on the command line) and `where` names the row for messages ("test.csv row 2")."""

    name: str
    source: str | dict
    row: dict | None = None
    where: str | None = None


def manifest_clips(path: str) -> list[Clip]:
    """The rows of a manifest (read as the training scripts read it, `load_manifest`), media paths relative to
    its folder."""
    table = load_manifest(path)
    media = [column for column in ("video", "audio") if column in table.column_names]
    if not media:
        raise ValueError(
            f"{path}: has no video or audio column (its columns: {', '.join(table.column_names)}); a manifest "
            "names each clip's media there (see `social-mae manifest`)"
        )
    folder, clips = Path(path).parent, []
    for number, row in enumerate(table.to_list(), start=1):
        where = f"{Path(path).name} row {number}"
        cells = {column: row[column] for column in media if isinstance(row[column], str) and row[column].strip()}
        if not cells:
            raise ValueError(f"{where}: no media file (its {' and '.join(media)} cell is empty)")
        files = {column: media_path(cell, folder) for column, cell in cells.items()}
        source = files if len(files) == 2 else next(iter(files.values()))
        clips.append(Clip(files.get("video") or files["audio"], source, row, where))
    return clips


def clips_of(inputs: list[str], recursive: bool = False) -> list[Clip]:
    """The clips of the command line's inputs, in order: manifests' rows (by suffix: .csv, .tsv, .jsonl, .json),
    and media files (folders: their media files, see `collect_media`)."""
    clips: list[Clip] = []
    for manifests, names in itertools.groupby(inputs, lambda name: Path(name).suffix.lower() in MANIFEST_BUILDERS):
        if manifests:
            clips.extend(clip for name in names for clip in manifest_clips(name))
        else:
            clips.extend(Clip(str(path), str(path)) for path in collect_media(list(names), recursive))
    return clips


def _number(value, where: str, column: str) -> float:
    try:
        number = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{where}: column {column!r} is {value!r}, not a number")
    return number


def truths(clips: list[Clip], names: list[str], kind: str, label_column: str = "label") -> list:
    """Each clip's true label (`kind` "classification"; "multi_label_classification": the cell as written) or
    `{target: value}` ("regression": the model's target `names` as columns); None for a clip without one (a media
    file, a manifest without the column). A label not among the model's `names`, or a value that is not a number,
    is an error naming the row."""
    found = []
    for clip in clips:
        row = clip.row or {}
        if kind == "regression":
            present = [name for name in names if name in row]
            if present and len(present) < len(names):
                missing = [name for name in names if name not in row]
                raise ValueError(f"{clip.where}: has target column(s) {present} but not {missing}, of the model's")
            found.append({name: _number(row[name], clip.where, name) for name in names} if present else None)
            continue
        label = row.get(label_column)
        label = json.dumps(label) if isinstance(label, list) else "" if label is None else str(label).strip()
        if label and kind == "classification" and label not in names:
            placeholders = all(name == f"LABEL_{i}" for i, name in enumerate(names))
            hint = " (the model's labels are placeholders: convert it with --id2label in its head's order)"
            raise ValueError(
                f"{clip.where}: label {label!r} is not one of the model's labels {names}{hint if placeholders else ''}"
            )
        found.append(label or None)
    return found


def _pairs(scores: list[dict]) -> str:
    return "  ".join(f"{row['label']} {row['score']:.3f}" for row in scores)


def _face(row: dict) -> str:
    """The face column: whether the crop found a face ("-": no frames, e.g. an audio file)."""
    return {True: "yes", False: "no"}.get(row.get("face_found"), "-")


def _truth_text(truth) -> str:
    if truth is None:
        return "-"
    return truth if isinstance(truth, str) else "  ".join(f"{k} {v:.3f}" for k, v in truth.items())


def _line(name: str, width: int, window: str | None, face: str | None, text: str, truth: str | None = None) -> str:
    columns = [f"{name:<{width}}"]
    if truth is not None:
        columns.append(truth)
    if window is not None:
        columns.append(f"{window:<17}")
    if face is not None:
        columns.append(f"{face:<4}")
    return "  ".join([*columns, text])


def format_row(name: str, result: list, width: int, face: bool = False, truth: str | None = None) -> list[str]:
    """Table lines for one file: its predictions, or one line per window of a timeline; with `face`, a column
    saying whether the face crop found a face (when not, the whole frames were used); with `truth` (the true label
    or values, padded), a column for it."""
    if result and "start" in result[0]:
        return [
            _line(
                name,
                width,
                f"{w['start']:.2f}-{w['end']:.2f}",
                _face(w) if face else None,
                _pairs(w["scores"]),
                truth,
            )
            for w in result
        ]
    face_text = (_face(result[0]) if result else "-") if face else None
    return [_line(name, width, None, face_text, _pairs(result), truth)]


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


def model_kind(classifier) -> str:
    """What the model's outputs are: "classification", "multi_label_classification" or "regression"."""
    if classifier.is_regression:
        return "regression"
    multi = classifier.model.config.problem_type == "multi_label_classification"
    return "multi_label_classification" if multi else "classification"


def output_names(classifier) -> list[str]:
    """The model's class or target names, in output order."""
    id2label = classifier.model.config.id2label
    return [id2label[i] for i in range(len(id2label))]


def csv_header(names: list[str], kind: str, timeline: bool, face: bool, truth: bool) -> list[str]:
    """Columns of `--format csv`: the clip (and window), the truth next to the prediction, every class's score
    (or every target's value)."""
    columns = ["file", *(["start", "end"] if timeline else []), *(["face_found"] if face else [])]
    if kind == "regression":
        return [*columns, *([f"true_{n}" for n in names] if truth else []), *(f"predicted_{n}" for n in names)]
    return [*columns, *(["true_label"] if truth else []), "predicted_label", *(f"score_{n}" for n in names)]


def csv_row(name: str, window: dict | None, rows: list[dict], names: list[str], kind: str, truth, header) -> list:
    """One `--format csv` row: `rows` are the pipeline's label rows of the clip or window (every label)."""
    scores = {row["label"]: row["score"] for row in rows}
    values = [name, *([window["start"], window["end"]] if window is not None else [])]
    if "face_found" in header:
        found = (window or (rows[0] if rows else {})).get("face_found")
        values.append("" if found is None else found)
    number = lambda v: "" if v is None else f"{v:.6g}"  # noqa: E731
    if kind == "regression":
        if "true_" + names[0] in header:
            values += [number(truth[n]) if truth is not None else "" for n in names]
        return [*values, *(number(scores[n]) for n in names)]
    if "true_label" in header:
        values.append(truth or "")
    known = [n for n in names if scores[n] is not None]  # NaN scores are None here
    if kind == "multi_label_classification":
        chosen = ",".join(n for n in known if scores[n] > 0.5)
    else:
        chosen = max(known, key=scores.get, default="")
    return [*values, chosen, *(number(scores[n]) for n in names)]


def clip_record(name: str, truth, result: list[dict]) -> dict:
    """A clip's record: its name, truth when known, face_found once (not in every label row), its predictions."""
    found = {"face_found": result[0]["face_found"]} if result and "face_found" in result[0] else {}
    rows = [{key: value for key, value in row.items() if key != "face_found"} for row in result]
    return {"file": name, **({"truth": truth} if truth is not None else {}), **found, "predictions": rows}


class ResultWriter:
    """Writes each clip's (or window's) result as one or more lines the moment it is computed, flushed line by
    line, so that a stopped run keeps what it did: a table, JSON lines (one per clip, or per window of a timeline)
    or CSV rows."""

    def __init__(self, out: TextIO, output_format: str, clips, truth, *, names, kind, timeline, face, bar):
        self.out, self.format, self.clips, self.truth, self.bar = out, output_format, clips, truth, bar
        self.names, self.kind, self.timeline, self.face = names, kind, timeline, face
        self.has_truth = any(t is not None for t in truth)
        self.width = max(len(clip.name) for clip in clips)
        self.truth_width = max((len(_truth_text(t)) for t in truth), default=1) if self.has_truth else 0
        self.warned: set[int] = set()
        if output_format == "table":
            truth_column = f"{'truth':<{self.truth_width}}" if self.has_truth else None
            window = "window (s)" if timeline else None
            self._write(_line("file", self.width, window, "face" if face else None, "predictions", truth_column))
        elif output_format == "csv":
            self.csv = csv.writer(self, lineterminator="\n")
            self.header = csv_header(names, kind, timeline, face, self.has_truth)
            self.csv.writerow(self.header)

    def write(self, text: str) -> None:  # the csv module's file: each row is written whole, then flushed
        self._write(text.removesuffix("\n"))

    def _write(self, text: str) -> None:
        self.bar.write(text, file=self.out)  # above the progress bar, not through it
        self.out.flush()

    def result(self, index: int, result: list) -> None:
        """The pipeline's result of one window (a timeline: `[window]`) or clip (its label rows) of input `index`."""
        name, truth = self.clips[index].name, self.truth[index]
        if self.timeline:
            record = {"file": name, **({"truth": truth} if truth is not None else {}), **result[0]}
        else:
            record = clip_record(name, truth, result)
        json_record, not_finite = without_nan(record)
        if not_finite and index not in self.warned:
            self.warned.add(index)
            shown = {"jsonl": "null", "csv": "empty cells"}.get(self.format, "nan")
            self.bar.write(
                f"warning: {name}: the model gave NaN or infinite scores (shown as {shown})", file=sys.stderr
            )
        if self.format == "jsonl":
            self._write(json.dumps(json_record, allow_nan=False))  # JSON has no NaN
        elif self.format == "csv":
            window = result[0] if self.timeline else None
            rows = window["scores"] if self.timeline else result
            rows = [{**row, "score": row["score"] if math.isfinite(row["score"]) else None} for row in rows]
            self.csv.writerow(csv_row(name, window, rows, self.names, self.kind, truth, self.header))
        else:
            truth_column = f"{_truth_text(truth):<{self.truth_width}}" if self.has_truth else None
            for line in format_row(name, result, self.width, self.face, truth_column):
                self._write(line)


def run_predict(model: str, inputs: list[str], **options) -> tuple[list[dict], list[FileFailure]]:
    """Classify every input file (folders: their media files; manifests: their rows, whose labels or target
    values are shown next to the predictions as "truth"); returns `[{"file", "truth"?, "predictions" |
    "timeline"}]` and the files that could not be used (`on_error="skip"`; with `"abort"` the first one raises).

    Each clip's (each window's) result is written to `output` as soon as it is computed, flushed line by line.
    Options besides [`predict_clips`]'s named ones are the pipeline's (`top_k`, `function_to_apply`,
    `chunk_length_s`, `stride_length_s`, `modalities`, `missing_audio`, `audio_stream`); None values are left out. `face_crop` replaces the
    processor's (see `loading.with_face_crop`); when the processor crops, each record (each window of a timeline)
    has `face_found`. `audio_channel_mix` replaces the processor's. `model_kwargs` go to `from_pretrained`
    (`dtype`, `trust_remote_code`). `label_column`: the manifests' class name column.
    """
    run = predict_clips(model, inputs, **options)
    return run.records, run.failures


class _OutputError(Exception):
    """Writing a result failed: carried past `run_per_file`, which would take an `OSError` for the input's."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


@dataclass
class PredictRun:
    """What `predict_clips` did: the records and failures `run_predict` returns, what the model predicts (`kind`,
    see `model_kind`) and its class or target `names`."""

    records: list[dict]
    failures: list[FileFailure]
    kind: str
    names: list[str]


def predict_clips(
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
    label_column: str = "label",
    command: str = "predict",
    needs_truth: bool = False,
    **call_params,
) -> PredictRun:
    """`run_predict`'s work; with `needs_truth`, every clip must have a true label or values (for `evaluate`),
    and the model must be a single-label classifier or a regression model."""
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {output_format!r}")
    from tqdm.auto import tqdm

    from ..pipelines import CLASSIFICATION_TASK

    out = output or sys.stdout
    check_model_first(command, model, inputs)
    check_device(device)
    clips = clips_of(inputs, recursive)
    classifier = load_command_pipeline(
        CLASSIFICATION_TASK,
        model,
        device=device,
        face_crop=face_crop,
        audio_channel_mix=audio_channel_mix,
        **(model_kwargs or {}),
    )
    kind, names = model_kind(classifier), output_names(classifier)
    truth = truths(clips, names, kind, label_column)
    if needs_truth:
        check_truth(clips, truth, kind, names, label_column)
    params = {k: v for k, v in call_params.items() if v is not None}
    if output_format == "csv" and kind != "regression":
        if "top_k" in params:
            raise ValueError("`top_k` does not apply to output_format='csv': every class has a score column")
        params["top_k"] = len(names)
    _, _, postprocess = classifier._sanitize_parameters(**params)
    timeline = params.get("chunk_length_s") is not None
    records: list[dict] = []
    failures: list[FileFailure] = []
    bar = tqdm(total=len(clips), unit="file", disable=not progress, file=sys.stderr)
    windows = tqdm(unit="window", disable=not (progress and timeline), file=sys.stderr, position=1, leave=False)
    writer = ResultWriter(
        out,
        output_format,
        clips,
        truth,
        names=names,
        kind=kind,
        timeline=timeline,
        face=classifier.crops_faces,
        bar=bar,
    )
    owners = WindowOwners()

    def write_windows(outputs: list[dict]) -> None:
        for window in outputs:
            index, _, new = owners.place(window)
            if new:  # not one written before a group was run again file by file
                try:
                    writer.result(index, classifier.postprocess([window], **postprocess))
                except OSError as error:  # the output's fault (a full disk), not the input file's
                    raise _OutputError(error) from error

    def classify(group: list[int]) -> list:
        owners.begin(group)
        return classifier([clips[i].source for i in group], batch_size=batch_size, **params)

    watch_windows(classifier, windows, write_windows)
    try:
        for index, result in run_per_file(classify, [c.name for c in clips], batch_size, on_error, failures):
            name, known = clips[index].name, truth[index]
            if timeline:
                records.append({"file": name, **({"truth": known} if known is not None else {}), "timeline": result})
            else:
                records.append(clip_record(name, known, result))
            bar.update(len(records) + len(failures) - bar.n)
    except _OutputError as error:
        raise error.error from None
    bar.update(len(records) + len(failures) - bar.n)
    windows.close()
    bar.close()
    if classifier.crops_faces:
        clips_seen = [w for r in records for w in r.get("timeline", [r]) if "face_found" in w]
        missed = sum(not w["face_found"] for w in clips_seen)
        what = "window(s)" if timeline else "file(s)"
        print(f"face crop: {missed} of {len(clips_seen)} {what} without a face (whole frames used)", file=sys.stderr)
    return PredictRun(records, failures, kind, names)


def check_truth(clips, truth, kind: str, names: list[str], label_column: str) -> None:
    """Refuse a model `evaluate` cannot score, or a clip without a true label or values, naming it."""
    if kind == "multi_label_classification":
        raise ValueError("a multi-label model is not scored here; its predictions: social-mae predict --format csv")
    for clip, value in zip(clips, truth):
        if value is None:
            where = clip.where or f"{clip.name} (a media file, not a manifest row)"
            wanted = (
                f"a value in each of the model's target columns {names}"
                if kind == "regression"
                else (f"a class name in column {label_column!r} (see --label-column)")
            )
            raise ValueError(f"{where}: has no true label or values; evaluating needs {wanted}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_and_inputs(parser, "a classification or regression model", manifests=True)
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
        "--format",
        choices=OUTPUT_FORMATS,
        default="table",
        help="A table (default), JSON lines (one object per file, or per window with --chunk-length-s) or CSV (one "
        "row per file or window: the predicted label and every class's score, or every target's value; the true "
        "label or values next to them for a manifest's rows).",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="Write the results to this file instead of standard output; it is replaced only when the run ends "
        "with results (an earlier file stays as it was otherwise). Until then each file's or window's results are "
        "written to OUTPUT.partial as soon as they are computed, which a stopped run leaves behind. A device or "
        "FIFO (/dev/stdout) is written to directly.",
    )
    add_label_column(parser)
    add_face_crop(parser)


def add_label_column(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label-column",
        default="label",
        help="A manifest's column of class names (default label). Regression targets are read from the columns "
        "named as the model's targets.",
    )


def run(args: argparse.Namespace) -> int:
    options = run_options(args)  # checked (the face crop's detector built) before any output is opened

    def predict(output: TextIO | None) -> tuple[list[dict], list[FileFailure]]:
        return run_predict(
            args.model,
            args.inputs,
            recursive=args.recursive,
            output_format=args.format,
            output=output,
            top_k=args.top_k,
            function_to_apply=args.function_to_apply,
            chunk_length_s=args.chunk_length_s,
            stride_length_s=args.stride_length_s,
            label_column=args.label_column,
            **options,
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
