"""`social-mae evaluate` and `predict` on manifests: the true label next to the predicted one, the paper's metrics
(per-class precision / recall / F1, F1 micro and macro, 1 - MAE per target), the confusion matrix as CSV and PNG."""

import csv
import json
import shutil
import sys

import PIL.Image
import pytest
from transformers import pipeline

from social_mae_hf.cli import main as cli_main
from social_mae_hf.cli.predict import clips_of, truths

CLIPS = ("c25.mp4", "c30.mp4", "short.mp4", "stereo.mp4")


@pytest.fixture()
def labelled(media, tmp_path):
    """A manifest as `social-mae manifest` writes it: paths relative to the CSV, a label column, a speaker."""
    folder = tmp_path / "data"
    (folder / "clips").mkdir(parents=True)
    for name in CLIPS:
        shutil.copy(media(name), folder / "clips" / name)

    def write(labels, extra_columns=None):
        extra_columns = extra_columns or {}
        header = ["video", "label", "speaker", *extra_columns]
        rows = [
            [f"clips/{name}", label, str(i), *(values[i] for values in extra_columns.values())]
            for i, (name, label) in enumerate(zip(CLIPS, labels))
        ]
        path = folder / "test.csv"
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
        return path

    return write


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_evaluate_classification(converted, labelled, tmp_path, capsys):
    model = str(converted["social_mae_finetune"])
    classifier = pipeline("audio-visual-classification", model=model)
    manifest = labelled(["LABEL_5", "LABEL_1", "LABEL_5", "LABEL_0"])
    predicted = [classifier(str(manifest.parent / "clips" / name), top_k=1)[0]["label"] for name in CLIPS]
    true = ["LABEL_5", "LABEL_1", "LABEL_5", "LABEL_0"]
    out = tmp_path / "eval"
    assert cli_main(["evaluate", model, str(manifest), "--output-dir", str(out), "--plot", "--batch-size", "3"]) == 0
    printed = capsys.readouterr().out

    names = [f"LABEL_{i}" for i in range(6)]
    confusion = [[sum(t == a and p == b for t, p in zip(true, predicted)) for b in names] for a in names]
    table = _read_csv(out / "confusion_matrix.csv")
    assert [row["true \\ predicted"] for row in table] == names
    assert [[int(row[b]) for b in names] for row in table] == confusion

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["clips"] == 4 and metrics["accuracy"] == pytest.approx(sum(map(str.__eq__, true, predicted)) / 4)
    for name in names:  # precision: right of those predicted as it; recall: right of those that are it
        right = sum(t == p == name for t, p in zip(true, predicted))
        said, are = predicted.count(name), true.count(name)
        per_class = metrics["per_class"][name]
        assert per_class["precision"] == pytest.approx(right / said if said else 0.0)
        assert per_class["recall"] == pytest.approx(right / are if are else 0.0)
        assert per_class["support"] == are
    # Macro F1 averages the classes the clips have or the model predicted (a class with neither has no F1), as the
    # training scripts' metrics do (social_mae_hf.metrics, scikit-learn's default).
    f1 = [metrics["per_class"][n]["f1"] for n in names if n in true or n in predicted]
    assert metrics["f1_macro"] == pytest.approx(sum(f1) / len(f1))
    assert metrics["f1_micro"] == pytest.approx(metrics["accuracy"])  # single-label: micro F1 is accuracy
    assert f"accuracy {metrics['accuracy']:.4f}" in printed and f"F1 macro {metrics['f1_macro']:.4f}" in printed

    rows = _read_csv(out / "predictions.csv")  # the true label next to the predicted one, every class's score
    assert [(row["true_label"], row["predicted_label"]) for row in rows] == list(zip(true, predicted))
    assert [row["file"] for row in rows] == [str(manifest.parent / "clips" / name) for name in CLIPS]
    assert sum(float(row[f"score_{n}"]) for n in names for row in rows[:1]) == pytest.approx(1.0, abs=1e-4)
    with PIL.Image.open(out / "confusion_matrix.png") as picture:
        assert picture.format == "PNG" and picture.width > 6 * 56 and picture.height > 6 * 56
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "metrics.json",
        "per_class.csv",
        "predictions.csv",
    ]


def test_evaluate_regression_scores_one_minus_mae_per_target(converted, labelled, tmp_path, capsys):
    model = str(converted["social_mae_regression"])
    names = [f"LABEL_{i}" for i in range(6)]
    values = {name: [f"{0.1 * i + 0.05 * j:.2f}" for j in range(len(CLIPS))] for i, name in enumerate(names)}
    manifest = labelled(["", "", "", ""], values)
    regressor = pipeline("audio-visual-classification", model=model)
    predicted = [
        {row["label"]: row["score"] for row in regressor(str(manifest.parent / "clips" / name))} for name in CLIPS
    ]
    out = tmp_path / "eval"
    assert cli_main(["evaluate", model, str(manifest), "--output-dir", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for name in names:
        mae = sum(abs(float(values[name][j]) - predicted[j][name]) for j in range(len(CLIPS))) / len(CLIPS)
        assert metrics["per_target"][name]["one_minus_mae"] == pytest.approx(1 - mae, abs=1e-5)
    mean = sum(metrics["per_target"][n]["one_minus_mae"] for n in names) / len(names)
    assert metrics["one_minus_mae"] == pytest.approx(mean)
    rows = _read_csv(out / "predictions.csv")
    assert float(rows[1]["true_LABEL_2"]) == pytest.approx(float(values["LABEL_2"][1]))
    assert float(rows[1]["predicted_LABEL_2"]) == pytest.approx(predicted[1]["LABEL_2"], abs=1e-5)
    assert "mean" in capsys.readouterr().out and (out / "per_target.csv").is_file()


def test_predict_shows_a_manifests_labels_next_to_the_predictions(converted, labelled, media, capsys):
    model = str(converted["social_mae_finetune"])
    manifest = labelled(["LABEL_5", "LABEL_1", "LABEL_5", "LABEL_0"])
    assert cli_main(["predict", model, str(manifest), str(media("c25.mp4")), "--format", "jsonl", "--quiet"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("truth") for r in records] == ["LABEL_5", "LABEL_1", "LABEL_5", "LABEL_0", None]
    assert cli_main(["predict", model, str(manifest), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["file", "truth"] and lines[2].split()[1] == "LABEL_1"


def test_predict_reads_a_jsonl_manifest_as_the_training_scripts_do(converted, labelled, capsys):
    model = str(converted["social_mae_finetune"])
    folder = labelled(["LABEL_5", "LABEL_1", "LABEL_5", "LABEL_0"]).parent
    manifest = folder / "test.jsonl"
    rows = [{"video": "clips/c25.mp4", "label": "LABEL_3"}, {"video": str(folder / "clips" / "c30.mp4")}]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert cli_main(["predict", model, str(manifest), "--format", "jsonl", "--quiet"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["file"], r.get("truth")) for r in records] == [
        (str(folder / "clips" / "c25.mp4"), "LABEL_3"),
        (str(folder / "clips" / "c30.mp4"), None),
    ]


def test_manifest_truths_check_each_row(tmp_path):
    """Targets as floats, a non-number or a partial set of target columns refused naming the row; a multi-label
    cell as written; a label outside the model's refused with the placeholder hint."""
    manifest = tmp_path / "test.jsonl"
    rows = [{"video": "a.mp4", "x": 0.5, "y": "1", "label": ["p", "q"]}, {"audio": "b.wav", "x": 2, "y": "n/a"}]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    clips = clips_of([str(manifest)])
    assert [clip.source for clip in clips] == [str(tmp_path / "a.mp4"), str(tmp_path / "b.wav")]
    assert truths(clips[:1], ["x", "y"], "regression") == [{"x": 0.5, "y": 1.0}]
    with pytest.raises(ValueError, match=r"test\.jsonl row 2: column 'y' is 'n/a', not a number"):
        truths(clips, ["x", "y"], "regression")
    with pytest.raises(ValueError, match=r"test\.jsonl row 1: has target column\(s\) \['x'\] but not \['z'\]"):
        truths(clips, ["x", "z"], "regression")
    assert truths(clips, ["p", "q"], "multi_label_classification") == ['["p", "q"]', None]
    with pytest.raises(ValueError, match=r"row 1: label 'a\.mp4' is not one of .*convert it with --id2label"):
        truths(clips, ["LABEL_0"], "classification", "video")


def test_evaluate_errors_name_the_row_and_the_fix(converted, labelled, media, tmp_path, capsys, monkeypatch):
    model = str(converted["social_mae_finetune"])
    out = str(tmp_path / "eval")
    manifest = labelled(["LABEL_5", "anger", "LABEL_5", "LABEL_0"])
    assert cli_main(["evaluate", model, str(manifest), "--output-dir", out, "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "test.csv row 2: label 'anger' is not one of the model's labels" in error
    assert "convert it with --id2label" in error

    manifest = labelled(["LABEL_5", "", "LABEL_5", "LABEL_0"])
    assert cli_main(["evaluate", model, str(manifest), "--output-dir", out, "--quiet"]) == 2
    assert (
        "test.csv row 2: has no true label or values; evaluating needs a class name in column 'label' (see "
        "--label-column)" in (capsys.readouterr().err)
    )
    assert cli_main(["evaluate", model, str(media("c25.mp4")), "--output-dir", out]) == 2
    assert "evaluate takes manifests with labels (.csv, .tsv, .jsonl, .json); for media files use predict" in (
        capsys.readouterr().err
    )

    no_media = tmp_path / "bad.csv"
    no_media.write_text("path,label\nclip.mp4,LABEL_0\n")
    assert cli_main(["evaluate", model, str(no_media), "--output-dir", out]) == 2
    assert f"{no_media}: has no video or audio column (its columns: path, label)" in capsys.readouterr().err

    surplus = manifest.parent / "surplus.csv"  # read as the training scripts read it: a row's extra cell is refused
    surplus.write_text("video,label\nclips/c25.mp4,LABEL_0\nclips/c30.mp4,LABEL_1,LABEL_2\n")
    assert cli_main(["evaluate", model, str(surplus), "--output-dir", out]) == 2
    assert "surplus.csv row 2 (line 3): more cells than the 2 header columns" in capsys.readouterr().err

    monkeypatch.setitem(sys.modules, "sklearn", None)  # scikit-learn not installed
    assert cli_main(["evaluate", model, str(manifest), "--output-dir", out]) == 2
    assert 'scikit-learn, which is not installed: pip install "social-mae-hf[train]"' in capsys.readouterr().err


def test_evaluate_skips_a_bad_clip_and_scores_the_others(converted, labelled, tmp_path, capsys):
    model = str(converted["social_mae_finetune"])
    manifest = labelled(["LABEL_5", "LABEL_1", "LABEL_5", "LABEL_0"])
    (manifest.parent / "clips" / "short.mp4").write_bytes(b"\0not a video" * 100)
    out = tmp_path / "eval"
    assert cli_main(["evaluate", model, str(manifest), "--output-dir", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "1 of 4 file(s) failed and were skipped" in captured.err and "short.mp4" in captured.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["clips"] == 3 and metrics["failed_clips"] == 1
    assert len(_read_csv(out / "predictions.csv")) == 3


def test_evaluate_refuses_nan_scores_naming_a_clip(converted, labelled, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "nan-model"
    shutil.copytree(converted["social_mae_regression"], broken)
    weights = load_file(broken / "model.safetensors")
    weights["classifier.dense.bias"][2] = float("nan")
    save_file(weights, broken / "model.safetensors")
    values = {f"LABEL_{i}": ["0.5"] * len(CLIPS) for i in range(6)}
    manifest = labelled(["", "", "", ""], values)
    assert cli_main(["evaluate", str(broken), str(manifest), "--output-dir", str(tmp_path / "e"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "the model gave NaN or infinite scores for 4 clip(s), e.g. " in error and "c25.mp4" in error
