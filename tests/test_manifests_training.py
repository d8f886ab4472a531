"""A few training steps of the example scripts on each manifest `social-mae manifest` writes, called with the flags
the command prints (so that the columns, the task and the relative paths are what the scripts read)."""

import json
from pathlib import Path

import pytest
from conftest import TRAIN_OVERRIDES, load_example
from test_manifests import class_folders, crema_d, first_impressions, original_layout, voxceleb2  # noqa: F401

from social_mae_hf.cli import main as cli_main
from social_mae_hf.manifests import (
    TRAITS,
    read_crema_d,
    read_first_impressions,
    read_folders,
    read_social_mae_layout,
    read_voxceleb2,
    write_manifests,
)

pytestmark = pytest.mark.slow

COMMON = [
    "--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES, "--max_steps", "2",
    "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "2", "--learning_rate", "1e-4",
    "--save_strategy", "no", "--report_to", "none", "--use_cpu", "--disable_tqdm", "true", "--seed", "0",
]  # fmt: skip


def train_on(table, tmp_path: Path, *, validation: str = "validation", script: str = "run_finetune") -> dict:
    """Write `table`'s manifests, run 2 training steps and an evaluation; the results file's metrics."""
    paths = write_manifests(table, tmp_path / "manifests")
    out = tmp_path / "run"
    argv = ["--train_file", str(paths["train"]), "--validation_file", str(paths[validation])]
    argv += ["--output_dir", str(out), "--do_train", "--do_eval", *table.training_flags(), *COMMON]
    load_example(script).main(argv)
    results = json.loads((out / "all_results.json").read_text())
    assert results["train_samples"] == len(table.splits["train"])
    assert results["eval_samples"] == len(table.splits[validation])
    return results


def test_crema_d_manifest_trains(crema_d, tmp_path, one_torch_thread):  # noqa: F811
    table = read_crema_d(crema_d, audio="wav")
    results = train_on(table, tmp_path)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert sorted(config["label2id"]) == ["anger", "disgust", "fear", "happiness", "neutral", "sadness"]
    assert 0 <= results["eval_f1_micro"] <= 1 and 0 <= results["eval_f1_macro"] <= 1  # what the recipe reads


def test_first_impressions_manifest_trains(first_impressions, tmp_path, one_torch_thread):  # noqa: F811
    results = train_on(read_first_impressions(first_impressions), tmp_path)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["problem_type"] == "regression"
    assert [config["id2label"][str(i)] for i in range(5)] == list(TRAITS)  # the paper's order
    per_trait = [results[f"eval_one_minus_mae_{trait}"] for trait in TRAITS]  # what the recipe reads
    assert results["eval_one_minus_mae"] == pytest.approx(sum(per_trait) / 5)


def test_voxceleb2_manifest_pretrains(voxceleb2, tmp_path, one_torch_thread):  # noqa: F811
    results = train_on(read_voxceleb2(voxceleb2, validation_speakers=1), tmp_path, script="run_pretrain")
    for name in ("audio_reconstruction_loss", "video_reconstruction_loss", "contrastive_accuracy"):
        assert f"eval_{name}" in results  # what the recipe reads


def test_original_layout_manifest_trains(original_layout, tmp_path, one_torch_thread):  # noqa: F811
    train_on(read_social_mae_layout(original_layout), tmp_path, validation="test")


def test_class_folders_manifest_trains(class_folders, tmp_path, one_torch_thread):  # noqa: F811
    train_on(read_folders(class_folders, ratios="0.6,0.2,0.2"), tmp_path)


def test_voxceleb2_manifest_packed_into_shards_pretrains(voxceleb2, tmp_path, one_torch_thread):  # noqa: F811
    """The corpus-scale path of the README: manifest -> `social-mae shard` -> `run_pretrain.py --train_shards`."""
    paths = write_manifests(read_voxceleb2(voxceleb2, validation_speakers=1), tmp_path / "manifests")
    shards = tmp_path / "shards"
    argv = ["shard", str(shards), "--task", "pretraining", "--audio-column", "audio", "--quiet"]
    assert cli_main([*argv, "--train-file", str(paths["train"]), "--validation-file", str(paths["validation"])]) == 0
    out = tmp_path / "run"
    load_example("run_pretrain").main(
        ["--train_shards", str(shards / "train"), "--validation_shards", str(shards / "validation"),
         "--output_dir", str(out), "--do_train", "--do_eval", *COMMON]
    )  # fmt: skip
    results = json.loads((out / "all_results.json").read_text())
    assert results["eval_samples"] == 2 and results["eval_loss"] > 0
