"""The paper's recipes (`examples/recipes/*.sh`): each writes its manifests with `social-mae manifest` and calls the
training script with the paper's settings. The training script is replaced by a recorder here, and its arguments
are parsed by the script's own argument classes, so that a renamed flag or a wrong setting fails."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, load_example
from test_manifests import class_folders, crema_d, first_impressions, voxceleb2  # noqa: F401
from transformers import HfArgumentParser, TrainingArguments

RECIPES = ROOT / "examples" / "recipes"
TRAITS = "openness,conscientiousness,extraversion,agreeableness,neuroticism"


def run_recipe(name: str, source: Path, tmp_path: Path, **env) -> list[tuple[str, tuple]]:
    """Run a recipe with a recording `python`; `[(script name, parsed argument dataclasses)]` per call."""
    log = tmp_path / "calls.jsonl"
    cli = tmp_path / "social-mae"
    cli.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import sys; from social_mae_hf.cli import main; '
                   'sys.exit(main())" "$@"\n')  # fmt: skip
    recorder = tmp_path / "python"
    recorder.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -c "import json, sys; '
        'open(sys.argv[1], \'a\').write(json.dumps(sys.argv[2:]) + chr(10))" "$RECIPE_LOG" "$@"\n'
    )
    cli.chmod(0o755)
    recorder.chmod(0o755)
    environment = os.environ | {"PYTHONPATH": str(ROOT / "src"), "SOCIAL_MAE": str(cli), "PYTHON": str(recorder)}
    environment |= {"RECIPE_LOG": str(log), "HF_HUB_OFFLINE": "1", **env}
    out = tmp_path / "out"
    done = subprocess.run(
        ["bash", str(RECIPES / name), str(source), "./pretrained", str(out)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    calls = []
    for line in log.read_text().splitlines():
        script, *argv = json.loads(line)
        example = load_example(Path(script).stem)
        if hasattr(example, "FinetuneArguments"):  # its label flags (and --test_file) are a dataclass of their own
            classes = (example.ModelArguments, example.DataArguments, example.LabelArguments, example.FinetuneArguments)
        else:
            classes = (example.ModelArguments, example.DataArguments, example.PretrainArguments)
        parsed = HfArgumentParser((*classes, TrainingArguments)).parse_args_into_dataclasses(args=argv)
        if len(parsed) == 5:  # the data and label flags read as one set, as the recipe writes them
            model, data, labels, recipe, training = parsed
            parsed = (model, SimpleNamespace(**vars(data), **vars(labels)), recipe, training)
        calls.append((Path(script).name, parsed))
    return calls


def check_manifests(data, out: Path) -> None:
    for split in ("train", "validation", "test"):
        manifest = getattr(data, f"{split}_file")
        assert manifest == str(out / "manifests" / f"{split}.csv") and Path(manifest).is_file()


@pytest.mark.parametrize(
    ("recipe", "tree", "epochs", "encoder_lr", "head_lr"),
    [
        ("crema_d.sh", "crema_d", 20, 1e-4, 1e-5),
        ("first_impressions.sh", "first_impressions", 10, 1e-4, 1e-5),
        ("ndc_me.sh", "class_folders", 10, 1e-5, 1e-4),
    ],
)
def test_fine_tuning_recipes_have_the_papers_settings(recipe, tree, epochs, encoder_lr, head_lr, tmp_path, request):
    source = request.getfixturevalue(tree)
    [(script, (model, data, finetune, training))] = run_recipe(recipe, source, tmp_path)
    assert script == "run_finetune.py" and model.model_name_or_path == "./pretrained"
    check_manifests(data, tmp_path / "out")
    assert training.num_train_epochs == epochs and training.per_device_train_batch_size == 8
    assert training.learning_rate == encoder_lr and finetune.head_learning_rate == head_lr
    assert not finetune.mixup and not finetune.freqm and not finetune.timem  # no masking or augmentation
    assert training.do_train and training.do_eval and training.do_predict
    if recipe == "first_impressions.sh":
        assert finetune.task == "regression" and data.target_columns == TRAITS
        assert training.metric_for_best_model == "one_minus_mae"
    else:
        assert finetune.task == "classification" and data.label_column == "label"
        assert training.metric_for_best_model == "f1_macro"


def test_pretraining_recipe_halves_the_learning_rate_every_5_epochs(voxceleb2, tmp_path):  # noqa: F811
    calls = run_recipe("pretrain_voxceleb2.sh", voxceleb2, tmp_path, VALIDATION_SPEAKERS="1", SHARD_WORKERS="0")
    out = tmp_path / "out"
    assert [script for script, _ in calls] == ["run_pretrain.py"] * 5
    assert [args[3].learning_rate for _, args in calls] == [1e-4, 5e-5, 2.5e-5, 1.25e-5, 6.25e-6]
    assert sum(args[3].num_train_epochs for _, args in calls) == 25
    first = calls[0][1][0]
    assert first.model_name_or_path == "./pretrained" and first.video_init == "reinit"
    assert first.config_overrides == "num_frames=8,tubelet_size=2"
    for stage, (_, (model, data, pretrain, training)) in enumerate(calls, start=1):
        assert pretrain.audio_mask_ratio == pretrain.video_mask_ratio == 0.75
        assert pretrain.contrastive_loss_weight == 0.01
        assert data.train_shards == str(out / "shards" / "train") and data.audio_column is None
        assert training.output_dir == str(out / f"stage{stage}")
        if stage > 1:
            assert model.model_name_or_path == str(out / f"stage{stage - 1}") and model.video_init is None
    index = json.loads((out / "shards" / "train" / "index.json").read_text())
    assert index["num_samples"] == 6  # 3 of the 4 dev speakers; the 4th is the validation split
