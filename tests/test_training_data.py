"""Training data: synthetic sets, manifests and `datasets` tables loaded through `datasets`, decoding in a
`set_transform` with its failure policy, batching, the classes a run predicts."""

import csv
import json
from pathlib import Path

import datasets
import pytest
import torch
from conftest import TRAIN_OVERRIDES, load_example, tiny_config

from social_mae_hf import SocialMAEProcessor
from social_mae_hf.synthetic import CLASSIFICATION_LABELS, write_synthetic_dataset
from social_mae_hf.training import (
    ClipDecodeError,
    ClipTransform,
    ManifestColumns,
    ManifestError,
    SocialMAECollator,
    TargetEncoder,
    decoded_dataset,
    load_clip_datasets,
)


def write_csv(path: Path, rows: list[dict], fieldnames=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def load(path, task="classification", **columns):
    """A manifest's one split, loaded as a run loads it (the media files unchecked)."""
    splits, _ = load_clip_datasets(
        task, {"train": True}, ManifestColumns(**columns), files={"train": str(path)}, check_media=False
    )
    return splits["train"]


def targets(dataset, task="classification", names=(), **columns):
    """Each row's encoded target (or its class names, without `names`), as a run checks them."""
    encoder = TargetEncoder(task, tuple(names), ManifestColumns(**columns))
    rows = dataset.to_list()
    if not names:
        return [encoder.classes(row, f"row {i}") for i, row in enumerate(rows)]
    return [encoder.encode(row, f"row {i}") for i, row in enumerate(rows)]


# ---- synthetic sets --------------------------------------------------------------------------------------------


def test_synthetic_classes_need_both_modalities(synthetic_set):
    """Tone is audible only, shape/colour visible only: each modality alone separates 2 of the 4 classes."""
    manifest = synthetic_set("classification")["train"]
    rows = list(csv.DictReader(manifest.open()))
    labels = [row["label"] for row in rows]
    assert sorted(set(labels)) == sorted(CLASSIFICATION_LABELS)
    assert all(labels.count(name) == len(rows) // 4 for name in CLASSIFICATION_LABELS)
    extractor = SocialMAEProcessor.for_model_config(tiny_config(num_frames=4))
    first = {}
    for row in rows[:4]:
        first[row["label"]] = extractor(videos=str(manifest.parent / row["video"]))
    peak = {name: int(f["input_values"][0].mean(0).argmax()) for name, f in first.items()}
    assert peak["low_circle"] == pytest.approx(peak["low_square"], abs=6)
    assert peak["high_circle"] == pytest.approx(peak["high_square"], abs=6)
    assert peak["high_circle"] > peak["low_circle"] + 20
    # BGR frames, ImageNet-normalised: circles are red, squares blue.
    colour = {name: f["pixel_values"][0].mean(dim=(0, 2, 3)) for name, f in first.items()}
    for tone in ("low", "high"):
        assert (
            colour[f"{tone}_circle"][2] - colour[f"{tone}_circle"][0]
            > colour[f"{tone}_square"][2] - colour[f"{tone}_square"][0] + 0.2
        )


def test_synthetic_regression_and_pretraining_sets(tmp_path):
    manifests = write_synthetic_dataset(tmp_path / "r", "regression", num_clips={"train": 3}, manifest_format="jsonl")
    rows = [json.loads(line) for line in manifests["train"].read_text().splitlines()]
    assert [sorted(row) for row in rows] == [["pitch", "redness", "video"]] * 3
    assert all(0 <= row["pitch"] <= 1 and 0 <= row["redness"] <= 1 for row in rows)
    assert (manifests["train"].parent / rows[0]["video"]).is_file()
    metadata = [json.loads(line) for line in (tmp_path / "r" / "train" / "metadata.jsonl").read_text().splitlines()]
    assert metadata[1] == {"file_name": "00001.mp4", "pitch": rows[1]["pitch"], "redness": rows[1]["redness"]}
    pre = write_synthetic_dataset(tmp_path / "p", "pretraining", num_clips={"train": 2})
    assert next(csv.DictReader(pre["train"].open())).keys() == {"video"}
    with pytest.raises(ValueError, match="task must be one of"):
        write_synthetic_dataset(tmp_path / "x", "segmentation")


# ---- manifests -------------------------------------------------------------------------------------------------


def test_csv_paths_are_resolved_against_the_manifest_folder(tmp_path, monkeypatch):
    write_csv(tmp_path / "data" / "train.csv", [{"video": "clips/a.mp4", "label": "happy"}])
    monkeypatch.chdir(tmp_path)
    (row,) = load(Path("data/train.csv")).to_list()
    assert row["video"] == str((tmp_path / "data" / "clips" / "a.mp4").resolve())
    assert row["label"] == "happy" and row["_source"] == "train.csv row 1"
    absolute = write_csv(tmp_path / "abs.csv", [{"video": "/x/b.mp4", "label": "sad"}])
    assert load(absolute)[0]["video"] == "/x/b.mp4"


def test_cells_are_read_as_written(tmp_path):
    """CSV cells stay text: a class named `01` or `NA` is not turned into a number or a missing value."""
    path = write_csv(tmp_path / "m.csv", [{"video": "a.mp4", "label": "01"}, {"video": "b.mp4", "label": "NA"}])
    assert targets(load(path)) == [("01",), ("NA",)]


def test_separate_audio_column_and_tsv(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("clip\tsound\tlabel\nv.mp4\ta.wav\tx\n")
    (row,) = load(path, video="clip", audio="sound").to_list()
    assert row["clip"].endswith("/v.mp4") and row["sound"] == str(tmp_path / "a.wav")


def test_multi_label_from_jsonl_lists_separated_strings_and_cav_mae_json(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"video": "a.mp4", "label": ["laugh", "speech"]}\n\n{"video": "b.mp4", "label": ["speech"]}\n')
    got = load(path, "multi_label_classification")
    assert targets(got, "multi_label_classification") == [("laugh", "speech"), ("speech",)]
    assert targets(got, "multi_label_classification", names=("laugh", "speech")) == [[1.0, 1.0], [0.0, 1.0]]
    cav = tmp_path / "cav.json"
    cav.write_text(json.dumps({"data": [{"wav": "x.wav", "labels": "/m/a,/m/b"}]}))
    loaded = load(cav, "multi_label_classification", video=None, audio="wav", label="labels")
    assert targets(loaded, "multi_label_classification", video=None, audio="wav", label="labels") == [("/m/a", "/m/b")]
    assert loaded[0]["wav"] == str(tmp_path / "x.wav")


def test_regression_columns(tmp_path):
    path = write_csv(tmp_path / "r.csv", [{"video": "a.mp4", "o": "0.25", "c": "1"}])
    got = targets(load(path, "regression", label=None, targets=("o", "c")), "regression", ("o", "c"), label=None)
    assert got == [[0.25, 1.0]]


@pytest.mark.parametrize(
    "rows, task, columns, message",
    [
        ([{"video": "a.mp4", "emotion": "x"}], "classification", {}, r"missing column\(s\) \['label'\]"),
        ([{"video": "a.mp4", "label": ""}], "classification", {}, r"row 1: column 'label' is empty"),
        ([{"video": "", "label": "x"}], "classification", {}, r"row 1: column 'video' must be a media"),
        (
            [{"video": "a.mp4", "o": "0.5"}, {"video": "b.mp4", "o": "high"}],
            "regression",
            {"label": None, "targets": ("o",)},
            r"r\.csv row 2, column 'o': 'high' is not a number",
        ),
        ([{"video": "a.mp4", "o": "nan"}], "regression", {"label": None, "targets": ("o",)}, "not a finite number"),
    ],
)
def test_bad_manifests_name_the_row_and_column(tmp_path, rows, task, columns, message):
    """What a run checks before training: columns, media cells and every target."""
    path = write_csv(tmp_path / "r.csv", rows)
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "b.mp4").write_bytes(b"")
    manifest_columns = ManifestColumns(**columns)
    names = manifest_columns.targets or ("x",)
    with pytest.raises(ManifestError, match=message):
        splits, _ = load_clip_datasets(task, {"train": True}, manifest_columns, files={"train": str(path)})
        TargetEncoder(task, names, manifest_columns).check(splits["train"], "train")


def test_bad_manifest_files(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("video,label\na.mp4,x\nb.mp4,x,surplus\n")
    with pytest.raises(ManifestError, match=r"extra\.csv row 2 \(line 3\): more cells than the 2 header columns"):
        load(extra)
    extra.write_text("video,label\na.mp4,x,surplus\n")  # pandas would take the first column as an index
    with pytest.raises(ManifestError, match=r"extra\.csv row 1 \(line 2\): more cells than the 2 header columns"):
        load(extra)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"video": "a.mp4", "label": "x"}\n{"video": \n')
    with pytest.raises(ManifestError, match=r"broken\.jsonl: cannot read the manifest"):
        load(broken)
    with pytest.raises(ManifestError, match=r"unsupported manifest type '\.txt'"):
        load(tmp_path / "m.txt")
    with pytest.raises(ManifestError, match="does not exist"):
        load(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("video,label\n")
    with pytest.raises(ManifestError, match="has no rows"):
        load(empty)
    twice = tmp_path / "twice.csv"
    twice.write_text("video,label,video\na.mp4,x,b.mp4\n")
    with pytest.raises(ManifestError, match="a column name appears twice"):
        load(twice)
    listed = tmp_path / "listed.jsonl"
    listed.write_text('{"video": "a.mp4", "label": ["x", "y"]}\n')
    with pytest.raises(ManifestError, match="single-label task needs one class name"):
        targets(load(listed))


def test_split_column_and_unknown_split_values(tmp_path):
    rows = [
        {"video": "a.mp4", "label": "x", "fold": "tr"},
        {"video": "b.mp4", "label": "y", "fold": "dev"},
        {"video": "c.mp4", "label": "x", "fold": "tr"},
    ]
    path = write_csv(tmp_path / "all.csv", rows)
    columns = ManifestColumns(split="fold")
    wanted = {"train": True, "validation": True}
    splits, _ = load_clip_datasets(
        "classification", wanted, columns, manifest=str(path), split_names={"train": "tr", "validation": "dev"},
        check_media=False,
    )  # fmt: skip
    assert {k: [v.rsplit("/", 1)[1] for v in d["video"]] for k, d in splits.items()} == {
        "train": ["a.mp4", "c.mp4"],
        "validation": ["b.mp4"],
    }
    with pytest.raises(ManifestError, match=r"all\.csv row 2: split 'dev' is none of"):
        load_clip_datasets("classification", {"train": True}, columns, manifest=str(path), split_names={"train": "tr"})


def test_target_encoder_orders_and_checks_classes():
    encoder = TargetEncoder("classification", ("happy", "sad"))
    assert encoder.id2label == {0: "happy", 1: "sad"} and encoder.label2id == {"happy": 0, "sad": 1}
    assert [encoder.encode({"label": name}, "row") for name in ("sad", "happy")] == [1, 0]
    with pytest.raises(ManifestError, match=r"row 7: class\(es\) \['angry'\] not among the 2 known classes"):
        encoder.encode({"label": "angry"}, "row 7")
    with pytest.raises(ValueError, match="unique"):
        TargetEncoder("classification", ("a", "a"))


# ---- datasets --------------------------------------------------------------------------------------------------


def test_a_saved_dataset_with_class_labels(tmp_path):
    table = datasets.Dataset.from_dict(
        {"video": ["clips/a.mp4", "/abs/b.mp4"], "label": [1, 0]},
        features=datasets.Features({"video": datasets.Value("string"), "label": datasets.ClassLabel(names=["n", "y"])}),
    )
    datasets.DatasetDict({"train": table}).save_to_disk(str(tmp_path / "saved"))
    splits, _ = load_clip_datasets(
        "classification", {"train": True}, ManifestColumns(), dataset_name=str(tmp_path / "saved"), check_media=False
    )
    assert targets(splits["train"]) == [("y",), ("n",)]
    assert splits["train"][0]["video"] == str(tmp_path / "saved" / "clips" / "a.mp4")
    assert splits["train"][1]["video"] == "/abs/b.mp4"
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['emotion'\]"):
        load_clip_datasets(
            "classification", {"train": True}, ManifestColumns(label="emotion"), dataset_name=str(tmp_path / "saved")
        )
    streamed, _ = load_clip_datasets(
        "classification", {"train": True}, ManifestColumns(), dataset_name=str(tmp_path / "saved"), streaming=True
    )
    encoder = TargetEncoder("classification", (), ManifestColumns())
    assert encoder.class_names(streamed["train"], "train") == {"n", "y"}  # what the ClassLabel declares
    TargetEncoder("classification", ("n", "y"), ManifestColumns()).check(streamed["train"], "train")
    with pytest.raises(ManifestError, match=r"split 'train' has class\(es\) \['y'\] not among the classes \['n'\]"):
        TargetEncoder("classification", ("n",), ManifestColumns()).check(streamed["train"], "train")


def test_a_video_folder_dataset_is_decoded_lazily(media, tmp_path):
    import shutil

    folder = tmp_path / "folder" / "train"
    folder.mkdir(parents=True)
    shutil.copy(media("one_second.mp4"), folder / "a.mp4")
    write_csv(folder / "metadata.csv", [{"file_name": "a.mp4", "label": "happy"}])
    splits, _ = load_clip_datasets(
        "classification", {"train": True}, ManifestColumns(), dataset_name=str(tmp_path / "folder")
    )
    assert type(splits["train"].features["video"]).__name__ == "Video"
    assert splits["train"].features["video"].decode is False  # the processor decodes it, in the workers
    config = tiny_config(num_frames=4)
    encoder = TargetEncoder("classification", ("happy",), ManifestColumns())
    item = decoded_dataset(splits["train"], SocialMAEProcessor.for_model_config(config), encoder, split="train")[0]
    assert item["pixel_values"].shape == (4, 3, 32, 32) and item["labels"] == 0


@pytest.mark.parametrize("streaming", [False, True])
def test_a_hub_dataset_is_read_with_the_runs_token_and_cache_dir(tmp_path, monkeypatch, streaming):
    """`--token` ("for private models/datasets") and `--cache_dir` reach `datasets.load_dataset`, as in
    transformers' examples: a private Hub dataset cannot be read without the token."""
    (tmp_path / "a.mp4").write_bytes(b"")
    table = datasets.Dataset.from_dict({"video": [str(tmp_path / "a.mp4")], "label": ["happy"]})
    calls = []

    def load_dataset(name, config_name=None, **kwargs):
        calls.append((name, config_name, kwargs))
        if kwargs.get("streaming"):
            return datasets.IterableDatasetDict({"train": table.to_iterable_dataset()})
        return datasets.DatasetDict({"train": table})

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    splits, _ = load_clip_datasets(
        "classification",
        {"train": True},
        ManifestColumns(),
        dataset_name="someone/private-clips",
        streaming=streaming,
        cache_dir=str(tmp_path / "cache"),
        token="hf_secret",
    )
    assert next(iter(splits["train"]))["label"] == "happy"
    ((name, _, kwargs),) = calls
    assert name == "someone/private-clips"
    assert kwargs["token"] == "hf_secret" and kwargs["cache_dir"] == str(tmp_path / "cache")


# ---- decoding and its failure policy --------------------------------------------------------------------------


@pytest.fixture
def clips(media, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video at all\n")
    return {
        "good": str(media("one_second.mp4")),
        "broken": str(broken),
        "silent": str(media("noaudio.mp4")),
        "c25": str(media("c25.mp4")),
    }


def dataset(videos, **kwargs):
    """The clips as a `datasets.Dataset` decoded by a `set_transform`, as a run decodes them."""
    table = datasets.Dataset.from_dict(
        {"video": videos, "label": ["x"] * len(videos), "_source": [f"m.csv row {i + 1}" for i in range(len(videos))]}
    )
    extractor = SocialMAEProcessor.for_model_config(tiny_config(num_frames=4))
    encoder = TargetEncoder("classification", ("x",), ManifestColumns())
    return table.with_transform(ClipTransform(extractor, encoder, split="train", **kwargs))


def test_a_clip_that_fails_to_decode_aborts_naming_its_row_and_path(clips):
    with pytest.raises(ClipDecodeError, match=r"m\.csv row 2 \(.*broken\.mp4\).*--on_decode_error skip"):
        dataset([clips["good"], clips["broken"]])[1]
    with pytest.raises(ClipDecodeError, match=r"m\.csv row 1 \(.*noaudio\.mp4\).*no audio track"):
        dataset([clips["silent"]])[0]


def test_skipped_clips_are_dropped_from_the_batch_and_reported(clips):
    data = dataset([clips["good"], clips["broken"], clips["silent"]], on_decode_error="skip")
    items = [data[i] for i in range(3)]
    assert items[1]["decode_error"].startswith("MediaDecodeError") and items[1]["clip_source"] == "m.csv row 2"
    assert items[0]["decode_error"] is None
    batch = SocialMAECollator()(items)
    assert batch["input_values"].shape[0] == 1 and batch["labels"].tolist() == [0]
    assert len(batch["skipped_clips"]) == 2 and "row 3" in batch["skipped_clips"][1]
    with pytest.raises(ClipDecodeError, match=r"every clip of a batch of 2 failed.*row 2"):
        SocialMAECollator()(items[1:])
    # A batch read through `datasets` (several rows at once) keeps its rows' keys alike.
    assert len(data[0:3]["decode_error"]) == 3


def test_modalities_decide_what_is_decoded(clips):
    video_only = dataset([clips["silent"]], modality="video")[0]
    assert {k for k, v in video_only.items() if isinstance(v, torch.Tensor)} == {"pixel_values"}
    audio_only = dataset([clips["good"]], modality="audio")[0]
    assert {k for k, v in audio_only.items() if isinstance(v, torch.Tensor)} == {"input_values"}
    assert audio_only["input_values"].shape == (64, 128) and audio_only["labels"] == 0
    with pytest.raises(ValueError, match="modality must be one of"):
        dataset([clips["good"]], modality="both")


def test_training_items_pick_random_frames_and_eval_items_do_not(clips):
    train, evaluation = (
        dataset([clips["c25"]], training=True, modality="video"),
        dataset([clips["c25"]], modality="video"),
    )
    torch.manual_seed(0)
    picks = {float(train[0]["pixel_values"].sum()) for _ in range(4)}
    assert len(picks) > 1
    assert len({float(evaluation[0]["pixel_values"].sum()) for _ in range(2)}) == 1


def test_collator_types_labels():
    item = {"input_values": torch.zeros(4, 2), "pixel_values": torch.zeros(1, 3, 2, 2)}
    batch = SocialMAECollator()([{**item, "labels": 2}, {**item, "labels": 0}])
    assert batch["labels"].dtype == torch.long and batch["input_values"].shape == (2, 4, 2)
    floats = SocialMAECollator()([{**item, "labels": [0.5, 1.0]}, {**item, "labels": [0.0, 1.0]}])
    assert floats["labels"].dtype == torch.float32 and floats["labels"].shape == (2, 2)
    assert "labels" not in SocialMAECollator()([item])
    with pytest.raises(ValueError, match="differ in their keys"):
        SocialMAECollator()([item, {"input_values": torch.zeros(4, 2)}])


def test_missing_files_abort_or_are_skipped_and_counted(media, tmp_path):
    rows = [
        {"video": str(media("one_second.mp4")), "label": "x"},
        {"video": "gone.mp4", "label": "x"},
    ]
    path = write_csv(tmp_path / "train.csv", rows)
    files = {"train": str(path)}
    with pytest.raises(ManifestError, match=r"1 media file\(s\) of split 'train' do not exist: train\.csv row 2"):
        load_clip_datasets("classification", {"train": True}, ManifestColumns(), files=files)
    splits, missing = load_clip_datasets(
        "classification", {"train": True}, ManifestColumns(), files=files, on_decode_error="skip"
    )
    assert len(splits["train"]) == 1 and missing == {"train": 1}
    with pytest.raises(ValueError, match="--do_eval needs validation clips"):
        load_clip_datasets(
            "classification",
            {"train": True, "validation": True},
            ManifestColumns(),
            files=files,
            on_decode_error="skip",
        )


def test_clip_sources_exclude_each_other(tmp_path):
    path = write_csv(tmp_path / "train.csv", [{"video": "a.mp4", "label": "x", "fold": "train"}])
    wanted, columns = {"train": True}, ManifestColumns()
    with pytest.raises(ValueError, match="give --dataset_name or manifest files, not both"):
        load_clip_datasets("classification", wanted, columns, files={"train": str(path)}, dataset_name=str(tmp_path))
    with pytest.raises(ValueError, match=r"give --manifest \(with --split_column\) or per-split files, not both"):
        load_clip_datasets("classification", wanted, columns, files={"train": str(path)}, manifest=str(path))
    with pytest.raises(ValueError, match="--manifest needs --split_column"):
        load_clip_datasets("classification", wanted, columns, manifest=str(path))
    with pytest.raises(ValueError, match="no data: give --train_file"):
        load_clip_datasets("classification", wanted, columns, files={"validation": str(path)})
    with pytest.raises(ValueError, match="have both a manifest file and shards"):
        load_clip_datasets("classification", wanted, columns, files={"train": str(path)}, shards={"train": "x"})


# ---- which classes ---------------------------------------------------------------------------------------------


choose_label_names = load_example("run_finetune").choose_label_names


def labelled(*labels) -> set[str]:
    return {name for label in labels for name in ((label,) if isinstance(label, str) else label)}


def test_classes_come_from_the_training_split_in_sorted_order():
    records = {"train": labelled("sad", "happy", "sad"), "validation": labelled("happy")}
    assert choose_label_names("classification", records) == ["happy", "sad"]
    assert choose_label_names("classification", records, class_names=[" sad", "happy ", ""]) == ["sad", "happy"]
    # A fine-tuned checkpoint's classes keep their order when they cover the data.
    assert choose_label_names("classification", records, checkpoint_names=["sad", "angry", "happy"]) == [
        "sad",
        "angry",
        "happy",
    ]
    assert choose_label_names("regression", {"train": set()}) is None


def test_a_class_without_training_clips_is_an_error_unless_listed():
    records = {
        "train": labelled("happy", "sad"),
        "validation": labelled("happy", "surprise"),
        "test": labelled("fear", "surprise"),
    }
    with pytest.raises(ValueError, match=r"no training clip: 'fear' \(test\), 'surprise' \(validation, test\)\."):
        choose_label_names("classification", records)
    multi = {"train": labelled(("happy",), ("sad", "happy")), "validation": labelled(("calm",))}
    with pytest.raises(ValueError, match=r"no training clip: 'calm' \(validation\)"):
        choose_label_names("multi_label_classification", multi)
    # Listed explicitly, they are kept (the run warns that training never teaches them).
    names = ["fear", "happy", "sad", "surprise"]
    assert choose_label_names("classification", records, class_names=names) == names
    # ... or covered by the checkpoint's classes, whose head already knows them.
    assert choose_label_names("classification", records, checkpoint_names=names) == names


def test_class_names_differing_only_by_case_are_an_error_unless_listed():
    records = {"train": labelled("Happy", "sad", "happy"), "validation": labelled("happy")}
    with pytest.raises(
        ValueError, match=r"differ only by case: 'Happy' \(train\) vs 'happy' \(train, validation\)\. Spell each"
    ):
        choose_label_names("classification", records)
    across = {"train": labelled("happy", "sad"), "test": labelled("Happy")}
    with pytest.raises(ValueError, match=r"'Happy' \(test\) vs 'happy' \(train\)"):
        choose_label_names("classification", across)
    # A checkpoint's "happy" is not silently replaced by a new head for "Happy".
    with pytest.raises(ValueError, match=r"'Happy' \(train\) vs 'happy' \(the checkpoint's labels\)"):
        choose_label_names("classification", {"train": labelled("Happy", "sad")}, checkpoint_names=["happy", "sad"])
    assert choose_label_names("classification", records, class_names=["Happy", "happy", "sad"]) == [
        "Happy",
        "happy",
        "sad",
    ]
    # With the classes given, a case-only mismatch is named when the clip is encoded.
    encoder = TargetEncoder("classification", ("happy", "sad"))
    with pytest.raises(
        ManifestError,
        match=r"test row 1: class\(es\) \['Happy'\] not among .* \(they differ only by case: 'Happy' vs 'happy'\)",
    ):
        encoder.encode({"label": "Happy"}, "test row 1")


def test_the_finetuning_script_stops_on_an_untaught_class_before_building_a_model(media, tmp_path):
    video = str(media("one_second.mp4"))
    train = write_csv(tmp_path / "train.csv", [{"video": video, "label": "happy"}, {"video": video, "label": "sad"}])
    validation = write_csv(tmp_path / "validation.csv", [{"video": video, "label": "Sad"}])
    args = ["--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES, "--max_steps", "1"]
    args += ["--train_file", str(train), "--validation_file", str(validation), "--output_dir", str(tmp_path / "out")]
    args += ["--do_train", "--do_eval", "--report_to", "none", "--use_cpu"]
    with pytest.raises(ValueError, match=r"'Sad' \(validation\) vs 'sad' \(train\)"):
        load_example("run_finetune").main(args)
    write_csv(validation, [{"video": video, "label": "angry"}])
    with pytest.raises(ValueError, match=r"no training clip: 'angry' \(validation\)"):
        load_example("run_finetune").main(args)
    assert not (tmp_path / "out" / "config.json").exists()


def test_balanced_class_weights_without_training_say_they_count_the_training_clips(media, tmp_path):
    """`--class_weights balanced` with --do_eval alone: the error names what is missing (the training clips the
    weights are counted from), before any model is built; it said every class had no training clip."""
    video = str(media("one_second.mp4"))
    validation = write_csv(tmp_path / "validation.csv", [{"video": video, "label": "happy"}])
    args = ["--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES, "--class_names", "happy,sad"]
    args += ["--validation_file", str(validation), "--output_dir", str(tmp_path / "out"), "--do_eval"]
    args += ["--class_weights", "balanced", "--report_to", "none", "--use_cpu"]
    with pytest.raises(ValueError, match=r"--class_weights balanced counts the training clips: it needs --do_train"):
        load_example("run_finetune").main(args)
    assert not (tmp_path / "out" / "config.json").exists()


def test_dataloader_workers_forked_after_the_main_process_decoded_do_not_crash(synthetic_set):
    """PyAV >= 17 gave each converted frame its own pool of swscale threads; a DataLoader worker forked after the
    main process had decoded crashed (or hung) freeing an inherited one. Frames are now converted on one thread."""
    manifest = synthetic_set("classification")["train"]
    encoder = TargetEncoder("classification", tuple(CLASSIFICATION_LABELS), ManifestColumns())
    processor = SocialMAEProcessor.for_model_config(tiny_config(num_frames=4))
    dataset = decoded_dataset(load(manifest).select(range(16)), processor, encoder, split="train", training=True)
    decoded_here = [dataset[i] for i in range(len(dataset))]
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=4, num_workers=2, persistent_workers=True, collate_fn=SocialMAECollator(), timeout=60
    )
    for _ in range(4):
        assert sum(len(batch["labels"]) for batch in loader) == len(decoded_here)
