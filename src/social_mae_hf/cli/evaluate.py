"""`social-mae evaluate`: a model scored on labelled manifests, with the paper's metrics.

Classification: accuracy, balanced accuracy, F1 micro and macro (the paper's CREMA-D score), per class precision,
recall, F1 and support, and the confusion matrix. Regression: 1 - MAE per target and on average (the paper's First
Impressions score), MAE and Pearson r. Written to OUTPUT_DIR: `predictions.csv` (each clip's prediction next to its
true label, row by row as they are computed), `metrics.json`, `per_class.csv` and `confusion_matrix.csv`, and with
`--plot` `confusion_matrix.png`.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

from ..files import ReplacedAtEnd
from .inputs import add_face_crop, add_run_options, run_options
from .per_file import report_failures

__all__ = ["classification_scores", "confusion_png", "regression_scores", "run_evaluate"]

HELP = (
    "Score a classification or regression model on manifests with labels: per-class precision / recall / F1, "
    "F1 micro and macro, 1 - MAE per target, a confusion matrix; predictions.csv next to the true labels."
)
TRAIN_EXTRA = 'pip install "social-mae-hf[train]"'


def _needs_scikit_learn() -> None:
    if importlib.util.find_spec("sklearn") is None:
        raise ImportError(f"evaluate computes its metrics with scikit-learn, which is not installed: {TRAIN_EXTRA}")


def classification_scores(true: list[str], predicted: list[str], names: list[str]) -> dict:
    """The paper's single-label scores and per-class ones (`social_mae_hf.metrics`, as training computes them),
    over the model's classes `names` (in output order); `confusion[i][j]`: clips of true class i predicted as j."""
    import numpy as np

    from ..metrics import confusion_counts, label_metrics

    index = {name: i for i, name in enumerate(names)}
    labels, chosen = np.asarray([index[t] for t in true]), np.asarray([index[p] for p in predicted])
    flat = label_metrics(chosen, labels, names)
    support = np.bincount(labels, minlength=len(names))
    return {
        "clips": len(true),
        **{key: flat[key] for key in ("accuracy", "balanced_accuracy", "f1_micro", "f1_macro")},
        "per_class": {
            name: {key: flat[f"{key}_{name}"] for key in ("precision", "recall", "f1")} | {"support": int(n)}
            for name, n in zip(names, support)
        },
        "confusion": confusion_counts(chosen, labels, len(names)),
    }


def regression_scores(true: list[dict], predicted: list[dict], names: list[str]) -> dict:
    """1 - MAE (the paper's First Impressions score, for targets in [0, 1]), MAE and Pearson r (`None` when a side
    is constant), per target and averaged over them (`social_mae_hf.metrics`, as training computes them)."""
    from ..metrics import regression_metrics

    flat = regression_metrics(
        [[row[name] for name in names] for row in predicted], [[row[name] for name in names] for row in true], names
    )
    per_target = {name: {key: flat[f"{key}_{name}"] for key in ("one_minus_mae", "mae", "pearson")} for name in names}
    for values in per_target.values():
        values["pearson"] = None if math.isnan(values["pearson"]) else values["pearson"]
    return {"clips": len(true), "one_minus_mae": flat["one_minus_mae"], "mae": flat["mae"], "per_target": per_target}


def _font(size: int):
    import PIL.ImageFont

    try:
        return PIL.ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return PIL.ImageFont.load_default()


def confusion_png(confusion: list[list[int]], names: list[str], title: str, path) -> None:
    """The confusion matrix as a picture: true classes down, predicted across, each cell's count, shaded by the
    share of its true class (a row's recall on the diagonal)."""
    import PIL.Image
    import PIL.ImageDraw

    font, small = _font(14), _font(12)
    measure = PIL.ImageDraw.Draw(PIL.Image.new("RGB", (1, 1)))
    text_width = lambda text, f: int(measure.textlength(text, font=f))  # noqa: E731
    cell, pad = 56, 12
    left = max(text_width(name, font) for name in names) + 2 * pad
    top = max(text_width(name, font) for name in names) + 2 * pad + 28
    size = len(names) * cell
    width = max(left + size + pad, text_width(title, font) + 2 * pad)
    image = PIL.Image.new("RGB", (width, top + size + 28), "white")
    draw = PIL.ImageDraw.Draw(image)
    draw.text((pad, pad), title, fill="black", font=font)
    for j, name in enumerate(names):  # predicted classes, written upwards
        label = PIL.Image.new("RGB", (text_width(name, font) + 4, 20), "white")
        PIL.ImageDraw.Draw(label).text((2, 2), name, fill="black", font=font)
        label = label.rotate(90, expand=True)
        image.paste(label, (left + j * cell + (cell - label.width) // 2, top - pad - label.height))
    draw.text((left, top + size + 6), "predicted (across) / true (down)", fill="dimgray", font=small)
    for i, name in enumerate(names):
        row_total = sum(confusion[i]) or 1
        draw.text((pad, top + i * cell + cell // 2 - 8), name, fill="black", font=font)
        for j, count in enumerate(confusion[i]):
            share = count / row_total
            shade = (int(255 - 200 * share), int(255 - 150 * share), 255)
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1)
            draw.rectangle(box, fill=shade, outline="lightgray")
            text = str(count)
            colour = "white" if share > 0.6 else "black"
            x = box[0] + (cell - text_width(text, font)) // 2
            draw.text((x, box[1] + cell // 2 - 8), text, fill=colour, font=font)
    image.save(path, format="PNG")


def _write_csv(path: Path, rows: list[list]) -> None:
    with ReplacedAtEnd(path) as output, open(output.path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _number(value) -> str:
    return "" if value is None else f"{value:.4f}"


def run_evaluate(model: str, manifests: list[str], output_dir: str, *, plot: bool = False, **options) -> dict:
    """Predict every row of `manifests` and score the predictions against the rows' labels (or target values);
    writes the files listed in the module docstring into `output_dir` and returns `{"metrics", "failures",
    "files"}`. Rows whose media cannot be used are left out of the scores and listed (`on_error="skip"`).
    `options` are [`predict_clips`]'s run options (`label_column`, `batch_size`, `device`, `face_crop`, ...)."""
    from ..manifests.reading import MANIFEST_BUILDERS
    from .predict import predict_clips

    _needs_scikit_learn()
    for name in manifests:
        if Path(name).suffix.lower() not in MANIFEST_BUILDERS:
            raise ValueError(
                f"{name}: evaluate takes manifests with labels ({', '.join(MANIFEST_BUILDERS)}); "
                "for media files use predict"
            )
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder}: is a file; the output is a folder")
    folder.mkdir(parents=True, exist_ok=True)
    with (
        ReplacedAtEnd(folder / "predictions.csv", keep_partial=True) as pending,
        open(pending.path, "w", newline="", encoding="utf-8") as handle,
    ):
        run = predict_clips(
            model,
            manifests,
            output_format="csv",
            output=handle,
            command="evaluate",
            needs_truth=True,
            **options,
        )
        if not run.records:
            pending.discard()
            lines = "\n  ".join(failure.message for failure in run.failures)
            raise ValueError(f"no clip could be predicted, nothing to score:\n  {lines}")
    records, names = run.records, run.names
    broken = [r["file"] for r in records if not all(math.isfinite(row["score"]) for row in r["predictions"])]
    if broken:
        raise ValueError(
            f"the model gave NaN or infinite scores for {len(broken)} clip(s), e.g. {broken[0]}: nothing to score "
            f"(their rows are in {folder / 'predictions.csv'})"
        )
    true = [record["truth"] for record in records]
    written = [folder / "predictions.csv", folder / "metrics.json"]
    if run.kind == "regression":
        predicted = [{row["label"]: row["score"] for row in record["predictions"]} for record in records]
        metrics = regression_scores(true, predicted, names)
        per_target = metrics["per_target"]
        rows = [
            [name, _number(v["one_minus_mae"]), _number(v["mae"]), _number(v["pearson"])]
            for name, v in per_target.items()
        ]
        _write_csv(folder / "per_target.csv", [["target", "one_minus_mae", "mae", "pearson"], *rows])
        written.append(folder / "per_target.csv")
    else:
        predicted = [record["predictions"][0]["label"] for record in records]  # best first
        metrics = classification_scores(true, predicted, names)
        rows = [
            [name, _number(v["precision"]), _number(v["recall"]), _number(v["f1"]), v["support"]]
            for name, v in metrics["per_class"].items()
        ]
        _write_csv(folder / "per_class.csv", [["class", "precision", "recall", "f1", "support"], *rows])
        confusion = [
            ["true \\ predicted", *names],
            *([name, *counts] for name, counts in zip(names, metrics["confusion"])),
        ]
        _write_csv(folder / "confusion_matrix.csv", confusion)
        written += [folder / "per_class.csv", folder / "confusion_matrix.csv"]
        if plot:
            title = f"{Path(model).name}: accuracy {metrics['accuracy']:.3f}, F1 macro {metrics['f1_macro']:.3f}"
            with ReplacedAtEnd(folder / "confusion_matrix.png") as png:
                confusion_png(metrics["confusion"], names, title, png.path)
            written.append(folder / "confusion_matrix.png")
    metrics = {
        "model": str(model),
        "manifests": [str(m) for m in manifests],
        "failed_clips": len(run.failures),
        **metrics,
    }
    with ReplacedAtEnd(folder / "metrics.json") as output, open(output.path, "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2)
        handle.write("\n")
    return {"metrics": metrics, "failures": run.failures, "files": written, "kind": run.kind}


def format_metrics(metrics: dict, kind: str) -> list[str]:
    """The report printed on standard output."""
    if kind == "regression":
        lines = [f"{'target':<20}  1-MAE   MAE     Pearson r"]
        for name, v in metrics["per_target"].items():
            pearson = "   -" if v["pearson"] is None else f"{v['pearson']:+.3f}"
            lines.append(f"{name:<20}  {v['one_minus_mae']:.4f}  {v['mae']:.4f}  {pearson}")
        lines.append(f"{'mean':<20}  {metrics['one_minus_mae']:.4f}  {metrics['mae']:.4f}")
        return [*lines, f"{metrics['clips']} clip(s) scored"]
    width = max(len("class"), *(len(name) for name in metrics["per_class"]))
    lines = [f"{'class':<{width}}  precision  recall  F1     support"]
    for name, v in metrics["per_class"].items():
        lines.append(f"{name:<{width}}  {v['precision']:.4f}     {v['recall']:.4f}  {v['f1']:.4f}  {v['support']}")
    return [
        *lines,
        f"{metrics['clips']} clip(s): accuracy {metrics['accuracy']:.4f}, balanced accuracy "
        f"{metrics['balanced_accuracy']:.4f}, F1 micro {metrics['f1_micro']:.4f}, F1 macro {metrics['f1_macro']:.4f}",
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .predict import add_label_column

    parser.add_argument("model", help="A model folder or Hub id (a classification or regression model).")
    parser.add_argument(
        "manifests",
        nargs="+",
        help="Manifests (.csv as `social-mae manifest` writes them, or .tsv, .jsonl, .json): video and/or audio "
        "columns (paths relative to the manifest) and a label column, or one column per regression target named as the model's targets.",
    )
    parser.add_argument(
        "--output-dir",
        required=True,
        help="Folder for predictions.csv (written row by row as clips are done; PATH.partial until the run ends), "
        "metrics.json, per_class.csv / per_target.csv and confusion_matrix.csv.",
    )
    parser.add_argument("--plot", action="store_true", help="Also draw the confusion matrix as confusion_matrix.png.")
    add_label_column(parser)
    add_run_options(parser)
    add_face_crop(parser)


def run(args: argparse.Namespace) -> int:
    try:
        result = run_evaluate(
            args.model,
            args.manifests,
            args.output_dir,
            plot=args.plot,
            label_column=args.label_column,
            **run_options(args),
        )
    except ImportError as error:
        print(f"social-mae evaluate: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(format_metrics(result["metrics"], result["kind"])))
    print(f"written: {', '.join(str(path) for path in result['files'])}")
    total = result["metrics"]["clips"] + len(result["failures"])
    return report_failures(args, result["failures"], total)
