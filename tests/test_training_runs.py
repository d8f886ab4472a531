"""End to end through the example scripts: fine-tuning and pretraining learn, runs resume, two DDP processes work.

Every run uses real synthetic mp4 clips decoded on the fly and a small model (see `TRAIN_OVERRIDES`).
"""

import csv
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REFERENCE, ROOT, TINY_HEADS, TRAIN_OVERRIDES, load_example, tiny_config, tiny_inputs
from safetensors.torch import load_file
from transformers import TrainingArguments

from social_mae_hf import SocialMAEForAudioVisualClassification
from social_mae_hf.cli import main as cli_main
from social_mae_hf.hub import HubPushError, HubUnavailableError
from social_mae_hf.training import ClipDecodeError, Mixup, SocialMAETrainer, SpecAugment, TrainAugmentation
from social_mae_hf.training.checkpoints import checkpoint_problems

pytestmark = pytest.mark.slow

run_finetune = load_example("run_finetune").main
run_pretrain = load_example("run_pretrain").main

COMMON = ["--report_to", "none", "--use_cpu", "--disable_tqdm", "true", "--seed", "0"]


def results(output_dir: Path) -> dict:
    return json.loads((output_dir / "all_results.json").read_text())


def finetune_args(manifests, output_dir, *extra) -> list[str]:
    return [
        "--config_name",
        "social-mae",
        "--config_overrides",
        TRAIN_OVERRIDES,
        "--train_file",
        str(manifests["train"]),
        "--validation_file",
        str(manifests["validation"]),
        "--output_dir",
        str(output_dir),
        "--do_train",
        "--do_eval",
        "--per_device_train_batch_size",
        "8",
        "--per_device_eval_batch_size",
        "8",
        "--learning_rate",
        "1e-3",
        "--save_strategy",
        "no",
        *COMMON,
        *extra,
    ]


# ---- learning --------------------------------------------------------------------------------------------------


def test_finetuning_learns_what_needs_both_modalities(synthetic_set, tmp_path, one_torch_thread):
    """4 classes = tone x shape: audio or video alone caps at 50%, the fused model gets them all."""
    manifests = synthetic_set("classification")
    accuracy = {}
    for modality in ("audiovisual", "audio", "video"):
        out = tmp_path / modality
        args = ["--modality", modality, "--num_train_epochs", "10", "--dataloader_num_workers", "2"]
        metrics = run_finetune(finetune_args(manifests, out, *args))
        assert results(out)["eval_accuracy"] == metrics["eval_accuracy"]
        accuracy[modality] = metrics["eval_accuracy"]
    assert accuracy["audiovisual"] >= 0.9, accuracy
    assert accuracy["audio"] <= 0.65 and accuracy["video"] <= 0.65, accuracy
    saved = SocialMAEForAudioVisualClassification.from_pretrained(tmp_path / "audiovisual")
    assert sorted(saved.config.label2id) == ["high_circle", "high_square", "low_circle", "low_square"]
    # Evaluating the fine-tuned model alone, on the manifests' folder read as a `datasets` dataset: the classes
    # come from the checkpoint.
    out = tmp_path / "evaluated"
    metrics = run_finetune(
        ["--model_name_or_path", str(tmp_path / "audiovisual"), "--dataset_name", str(manifests["train"].parent),
         "--output_dir", str(out), "--do_eval", "--per_device_eval_batch_size", "8", *COMMON]
    )  # fmt: skip
    assert metrics["eval_accuracy"] == accuracy["audiovisual"] and metrics["eval_samples"] == 32
    assert {"eval_f1_micro", "eval_f1_macro", "eval_precision_high_circle", "eval_recall_low_square"} <= set(metrics)


def test_pretraining_lowers_reconstruction_and_learns_which_sound_goes_with_which_picture(
    synthetic_set, tmp_path, one_torch_thread
):
    manifests = synthetic_set("pretraining")
    out = tmp_path / "pretrain"
    # A contrastive weight of 0.1 (the originals: 0.01) so that 200 steps of a small model show the correspondence.
    run_pretrain(
        [
            "--config_name",
            "social-mae",
            "--config_overrides",
            TRAIN_OVERRIDES,
            "--contrastive_loss_weight",
            "0.1",
            "--train_file",
            str(manifests["train"]),
            "--validation_file",
            str(manifests["validation"]),
            "--output_dir",
            str(out),
            "--do_train",
            "--do_eval",
            "--max_steps",
            "200",
            "--per_device_train_batch_size",
            "8",
            "--per_device_eval_batch_size",
            "8",
            "--learning_rate",
            "1e-3",
            "--eval_strategy",
            "no",
            "--eval_on_start",
            "--logging_steps",
            "50",
            "--save_strategy",
            "no",
            "--dataloader_num_workers",
            "2",
            *COMMON,
        ]
    )
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    before = next(entry for entry in history if "eval_audio_reconstruction_loss" in entry)
    after = results(out)
    for name in ("audio_reconstruction_loss", "video_reconstruction_loss"):
        assert after[f"eval_{name}"] < 0.5 * before[f"eval_{name}"], (name, before, after)
    assert before["eval_contrastive_accuracy"] <= 0.25
    assert after["eval_contrastive_accuracy"] >= 0.25  # chance is 1/8 with evaluation batches of 8
    assert after["eval_contrastive_loss"] < before["eval_contrastive_loss"]
    train_logs = [entry for entry in history if "video_reconstruction_loss" in entry]
    assert (
        len(train_logs) == 4
        and train_logs[-1]["video_reconstruction_loss"] < train_logs[0]["video_reconstruction_loss"]
    )


def test_regression_end_to_end(synthetic_set, tmp_path, one_torch_thread):
    manifests = synthetic_set("regression")
    out = tmp_path / "regression"
    args = finetune_args(
        {"train": manifests["train"], "validation": manifests["validation"]},
        out,
        "--task",
        "regression",
        "--target_columns",
        "pitch,redness",
        "--num_train_epochs",
        "6",
        "--dataloader_num_workers",
        "2",
        "--test_file",
        str(manifests["validation"]),
        "--do_predict",
    )
    with Captured("social_mae_hf") as log:
        run_finetune(args)
    metrics = results(out)
    # The paper's scores, printed at evaluation: 1 - MAE per trait and their mean.
    assert f"eval: 1-MAE pitch {metrics['eval_one_minus_mae_pitch']:.4f}, redness " in log, log.messages
    assert f"mean {metrics['test_one_minus_mae']:.4f}" in log
    for split in ("eval", "test"):
        assert {f"{split}_one_minus_mae_pitch", f"{split}_pearson_redness", f"{split}_one_minus_mae"} <= set(metrics)
    # Each target is learned from its own modality (an untrained head's r is about 0 +- 0.18 on 32 clips).
    assert metrics["eval_pearson_pitch"] > 0.5 and metrics["eval_pearson_redness"] > 0.5, metrics
    assert metrics["eval_one_minus_mae"] == pytest.approx(1 - metrics["eval_mae"])
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(rows) == 32 and rows[0]["media"].endswith("00000.mp4")
    assert list(rows[0]) == ["media", "pitch", "redness", "true_pitch", "true_redness"]
    truth = [json.loads(line) for line in manifests["validation"].read_text().splitlines()]
    assert [float(row["true_pitch"]) for row in rows] == [row["pitch"] for row in truth]


def test_multi_label_and_the_fine_tuning_recipe_options(synthetic_set, tmp_path):
    """Tone and shape as two labels of one clip (multi-label, BCE); then mixup, SpecAugment and class weights."""
    manifests = synthetic_set("classification")
    converted = {}
    for split, path in manifests.items():
        rows = list(csv.DictReader(path.open()))
        converted[split] = tmp_path / f"{split}.jsonl"
        lines = [
            json.dumps({"video": str(path.parent / r["video"]), "label": r["label"].split("_")}) for r in rows[:16]
        ]
        converted[split].write_text("\n".join(lines) + "\n")
    out = tmp_path / "multi"
    predict = ["--do_predict", "--test_file", str(converted["validation"])]
    run_finetune(finetune_args(converted, out, "--task", "multi_label_classification", "--max_steps", "4", *predict))
    metrics = results(out)
    assert {"eval_f1_macro", "eval_f1_micro", "eval_mean_average_precision", "test_accuracy"} <= set(metrics)
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(rows) == 16 and list(rows[0])[:3] == ["media", "label", "prediction"]
    assert all(set(filter(None, r["prediction"].split(","))) <= {"circle", "high", "low", "square"} for r in rows)
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert sorted(config["label2id"]) == ["circle", "high", "low", "square"]
    out = tmp_path / "recipe"
    recipe = ["--mixup", "0.5", "--freqm", "24", "--timem", "16", "--class_weights", "balanced"]
    recipe += ["--head_learning_rate", "1e-2", "--max_steps", "3", "--max_train_samples", "24"]
    metrics = run_finetune(finetune_args(manifests, out, *recipe, "--max_eval_samples", "8"))
    assert metrics["train_loss"] > 0 and metrics["eval_samples"] == 8
    with pytest.raises(ValueError, match="not defined for regression"):
        run_finetune(
            finetune_args(
                synthetic_set("regression"), tmp_path / "bad", "--task", "regression", "--target_columns", "pitch",
                "--mixup", "0.5",
            )
        )  # fmt: skip


# ---- resuming, DDP -------------------------------------------------------------------------------------------


def test_resuming_continues_the_step_count(synthetic_set, tmp_path):
    manifests = synthetic_set("classification")
    out = tmp_path / "resume"
    base = finetune_args(manifests, out, "--max_train_samples", "16", "--max_eval_samples", "8")
    base = [a for a in base if a != "--do_eval"]
    saving = ["--save_strategy", "steps", "--save_steps", "2", "--per_device_train_batch_size", "4"]
    run_finetune([*base, *saving, "--max_steps", "4"])
    assert (out / "checkpoint-4").is_dir()
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger("transformers").addHandler(handler)
    try:
        # Asked for 6 steps with checkpoints present: resumes at step 4 (the data position is restored too).
        run_finetune([*base, *saving, "--max_steps", "6"])
        assert any("Resuming training from checkpoint with epoch 1 and global step 4" in m for m in messages), messages
        assert (
            json.loads((out / "trainer_state.json").read_text())["global_step"] == 6 and (out / "checkpoint-6").is_dir()
        )
        messages.clear()
        run_finetune([*base, *saving, "--max_steps", "2", "--overwrite_output_dir"])
        assert not any("Resuming training" in m for m in messages)
        assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 2
        messages.clear()
        run_finetune([*base, *saving, "--max_steps", "3", "--resume_from_checkpoint", str(out / "checkpoint-2")])
        assert any("and global step 2" in m for m in messages), messages
    finally:
        logging.getLogger("transformers").removeHandler(handler)


class Captured:
    """Messages of the given loggers (transformers' does not propagate to the root logger, so caplog misses it)."""

    def __init__(self, *names):
        self.names, self.messages = names, []
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.messages.append(record.getMessage())

    def __enter__(self):
        for name in self.names:
            logging.getLogger(name).addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        for name in self.names:
            logging.getLogger(name).removeHandler(self.handler)

    def __contains__(self, text):
        return any(text in message for message in self.messages)


def test_a_rerun_after_a_kill_mid_checkpoint_resumes_from_the_newest_complete_one(synthetic_set, tmp_path):
    manifests = synthetic_set("classification")
    out = tmp_path / "killed"
    args = finetune_args(manifests, out, "--max_train_samples", "16", "--max_steps", "4")
    args = [a for a in args if a != "--do_eval"]
    args += ["--save_strategy", "steps", "--save_steps", "2", "--per_device_train_batch_size", "4"]
    run_finetune(args)
    # Copied out of the file's memory map before the file is cut short.
    uninterrupted = {name: t.clone() for name, t in load_file(out / "checkpoint-4" / "model.safetensors").items()}
    # As if killed while writing checkpoint-4 (its weights half written, nothing after them) and so before the
    # final save.
    for path in (out / "checkpoint-4").iterdir():
        if path.name not in ("config.json", "model.safetensors"):
            path.unlink()
    data = (out / "checkpoint-4" / "model.safetensors").read_bytes()
    (out / "checkpoint-4" / "model.safetensors").write_bytes(data[: len(data) // 2])
    for name in ("model.safetensors", "trainer_state.json", "all_results.json"):
        (out / name).unlink()
    with Captured("transformers", "social_mae_hf") as log:
        run_finetune(args)
    assert "checkpoint-4: incomplete (no readable trainer_state.json (it is written last))" in log, log.messages
    assert "Resuming training from checkpoint with epoch 0 and global step 2" in log, log.messages
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 4
    assert checkpoint_problems(out / "checkpoint-4") == []
    resumed = load_file(out / "model.safetensors")
    # The same steps computed again from the restored state (weights, optimizer, RNG, data position).
    assert all(torch.equal(resumed[name], uninterrupted[name]) for name in uninterrupted)


def test_rerunning_a_finished_run_changes_nothing(synthetic_set, tmp_path):
    manifests = synthetic_set("classification")
    out = tmp_path / "finished"
    # 3 steps of 4 per epoch at a constant learning rate: an extra step would change the weights.
    args = finetune_args(manifests, out, "--max_train_samples", "16", "--max_eval_samples", "8", "--max_steps", "3")
    args += ["--save_strategy", "steps", "--save_steps", "2", "--per_device_train_batch_size", "4"]
    args += ["--lr_scheduler_type", "constant"]
    first = run_finetune(args)
    weights, state = (out / "model.safetensors").read_bytes(), (out / "trainer_state.json").read_text()
    with Captured("transformers", "social_mae_hf", "example_run_finetune") as log:
        second = run_finetune(args)
    assert f"Training already complete: {out / 'trainer_state.json'} is at step 3, the end of this run" in log
    assert "Not training again" in log and not any("Resuming training" in m for m in log.messages)
    assert (out / "model.safetensors").read_bytes() == weights
    assert (out / "trainer_state.json").read_text() == state
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    # --do_eval still runs, on the model the finished run ended with.
    assert "train_loss" not in second and second["eval_accuracy"] == first["eval_accuracy"]
    assert second["eval_loss"] == pytest.approx(first["eval_loss"], rel=1e-5)
    assert results(out)["train_loss"] == first["train_loss"]  # the finished run's training metrics are kept
    # Killed after its last checkpoint, before the final save: the rerun completes that save without training.
    for name in ("model.safetensors", "trainer_state.json"):
        (out / name).unlink()
    with Captured("social_mae_hf", "example_run_finetune") as log:
        run_finetune(args)
    assert "its final save, cut short, is completed from" in log, log.messages
    assert (out / "model.safetensors").read_bytes() == (out / "checkpoint-3" / "model.safetensors").read_bytes()
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 3
    assert not (out / "checkpoint-4").exists()


def test_rerunning_a_finished_pretraining_changes_nothing(synthetic_set, tmp_path):
    manifests = synthetic_set("pretraining")
    out = tmp_path / "pretrained"
    args = [
        "--config_name",
        "social-mae",
        "--config_overrides",
        TRAIN_OVERRIDES,
        "--train_file",
        str(manifests["train"]),
    ]
    args += ["--output_dir", str(out), "--do_train", "--max_steps", "2", "--per_device_train_batch_size", "4"]
    args += ["--save_strategy", "steps", "--save_steps", "1", "--lr_scheduler_type", "constant", *COMMON]
    run_pretrain(args)
    weights = (out / "model.safetensors").read_bytes()
    with Captured("social_mae_hf", "example_run_pretrain") as log:
        assert run_pretrain(args) == {}
    assert "Training already complete" in log, log.messages
    assert (out / "model.safetensors").read_bytes() == weights and not (out / "checkpoint-3").exists()


def test_two_ddp_processes_train_save_and_reload(synthetic_set, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` on CPU: two gloo processes, gradient checkpointing, frozen
    unused norms (no unused-parameter search), worker decoding; the checkpoint loads."""
    manifests = synthetic_set("classification")
    out = tmp_path / "ddp"
    args = finetune_args(
        manifests,
        out,
        "--max_steps",
        "4",
        "--per_device_train_batch_size",
        "4",
        "--save_strategy",
        "steps",
        "--save_steps",
        "4",
        "--activation_checkpointing",
        "--dataloader_num_workers",
        "1",
        "--max_eval_samples",
        "12",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env["OMP_NUM_THREADS"] = "1"
    # On a machine without GPUs, `--multi_gpu` is accelerate's torchrun launcher: DDP over gloo on the CPU. (`--cpu
    # --num_processes 2` starts ONE process unless an MPI hostfile is given.) `--use_cpu` below is the script's.
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    done = subprocess.run(
        [*command, str(ROOT / "examples" / "run_finetune.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "Process rank 0" in log and "Process rank 1" in log
    assert "distributed True" in log
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["train_batch_size"] == 4
    assert "Total train batch size (w. parallel, distributed & accumulation) = 8" in log
    model = SocialMAEForAudioVisualClassification.from_pretrained(out / "checkpoint-4")
    assert model.config.num_labels == 4
    assert results(out)["eval_samples"] == 12


# ---- precision, checkpointing, compile -------------------------------------------------------------------


def train_two_steps(tmp_path, **arguments):
    torch.manual_seed(0)
    config = tiny_config(num_labels=3)
    model = SocialMAEForAudioVisualClassification(config)
    inputs = tiny_inputs(config, batch=4)
    data = [
        {"input_values": inputs["input_values"][i], "pixel_values": inputs["pixel_values"][i], "labels": i % 3}
        for i in range(4)
    ]
    args = TrainingArguments(
        str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        learning_rate=1e-3,
        **arguments,
    )
    from social_mae_hf.training import SocialMAECollator

    trainer = SocialMAETrainer(model=model, args=args, train_dataset=data, data_collator=SocialMAECollator())
    result = trainer.train()
    return trainer, result


def test_bf16_autocast_on_cpu(tmp_path):
    trainer, result = train_two_steps(tmp_path, bf16=True)
    assert torch.isfinite(torch.tensor(result.training_loss))
    assert trainer.model.classifier.dense.weight.dtype == torch.float32  # autocast, weights stay float32
    assert trainer.accelerator.mixed_precision == "bf16"


def test_activation_checkpointing_through_training_arguments(tmp_path):
    trainer, result = train_two_steps(tmp_path, activation_checkpointing=True)
    assert trainer.model.is_activation_checkpointing
    assert all(layer.gradient_checkpointing for layer in trainer.model.social_mae.encoder.audio_layers)
    assert torch.isfinite(torch.tensor(result.training_loss))


def test_augmentation_applies_to_training_batches_only(tmp_path):
    seen = []

    class Recording(TrainAugmentation):
        def __call__(self, batch):
            out = super().__call__(batch)
            seen.append(out["labels"].dtype)
            return out

    augmentation = Recording(SpecAugment(freqm=8, timem=8), Mixup(prob=1.0, num_labels=3))
    torch.manual_seed(0)
    config = tiny_config(num_labels=3, problem_type="single_label_classification")
    inputs = tiny_inputs(config, batch=4)
    data = [
        {"input_values": inputs["input_values"][i], "pixel_values": inputs["pixel_values"][i], "labels": i % 3}
        for i in range(4)
    ]
    args = TrainingArguments(
        str(tmp_path), max_steps=2, per_device_train_batch_size=2, report_to="none", use_cpu=True, save_strategy="no"
    )
    from social_mae_hf.training import SocialMAECollator

    trainer = SocialMAETrainer(
        model=SocialMAEForAudioVisualClassification(config),
        args=args,
        train_dataset=data,
        eval_dataset=data,
        data_collator=SocialMAECollator(),
        train_augmentation=augmentation,
    )
    trainer.train()
    assert seen == [torch.float32, torch.float32]  # mixup's soft targets reached the model's loss
    trainer.evaluate()
    assert len(seen) == 2


# ---- failures ----------------------------------------------------------------------------------------------


def test_undecodable_clips_abort_or_are_skipped_and_counted(synthetic_set, tmp_path):
    manifests = synthetic_set("classification")
    rows = list(csv.DictReader(manifests["train"].open()))[:8]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    with (tmp_path / "train.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["video", "label"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"video": str(manifests["train"].parent / row["video"]), "label": row["label"]})
        writer.writerow({"video": "broken.mp4", "label": rows[0]["label"]})
    data = {"train": tmp_path / "train.csv", "validation": manifests["validation"]}
    args = finetune_args(data, tmp_path / "out", "--num_train_epochs", "1", "--max_eval_samples", "4")
    with pytest.raises(ClipDecodeError, match=r"train\.csv row 9 \(.*broken\.mp4\)"):
        run_finetune(args)
    with (tmp_path / "train.csv").open("a", newline="") as handle:  # and a clip whose file is gone
        csv.writer(handle).writerow([str(tmp_path / "not_there.mp4"), rows[0]["label"]])
    run_finetune([*args, "--on_decode_error", "skip"])
    metrics = results(tmp_path / "out")
    assert metrics["train_skipped_clips"] == 1 and metrics["train_samples"] == 9
    assert metrics["train_missing_files"] == 1 and metrics["eval_missing_files"] == 0  # in all_results.json


def test_push_to_hub_fails_before_training_when_the_hub_is_unreachable(synthetic_set, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # what hub.hub_endpoint() reads
    out = tmp_path / "push"
    with pytest.raises(HubUnavailableError, match="cannot be reached"):
        run_finetune(finetune_args(synthetic_set("classification"), out, "--push_to_hub", "--max_steps", "1"))
    assert not (out / "model.safetensors").exists()


class FakeHub:
    """Stands in for `HfApi` in the Trainer: records what a push would upload."""

    def __init__(self, fail: bool = False):
        self.fail, self.uploads = fail, []

    def create_repo(self, repo_id, **kwargs):
        from huggingface_hub import RepoUrl

        return RepoUrl(f"https://huggingface.co/{repo_id}")

    def upload_folder(self, **kwargs):
        if self.fail:
            raise ConnectionError("the Hub went away")
        self.uploads.append(kwargs)


def test_push_to_hub_uploads_the_output_folder_with_a_model_card(synthetic_set, tmp_path, monkeypatch):
    import transformers.trainer

    import social_mae_hf.training.trainer

    hub = FakeHub()
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: hub)
    monkeypatch.setattr(
        social_mae_hf.training.trainer, "check_hub_available", lambda **kwargs: "https://huggingface.co"
    )
    out = tmp_path / "pushed"
    args = ["--push_to_hub", "--hub_model_id", "someone/social-mae-test", "--max_steps", "1", "--max_eval_samples", "4"]
    run_finetune(finetune_args(synthetic_set("classification"), out, *args))
    assert [(u["repo_id"], u["folder_path"]) for u in hub.uploads][-1] == ("someone/social-mae-test", str(out))
    card = (out / "README.md").read_text()
    assert "# social-mae-test" in card and "- Balanced Accuracy:" in card
    failing = FakeHub(fail=True)
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: failing)
    with pytest.raises(HubPushError, match=r"push_to_hub failed \(ConnectionError: the Hub went away\).*saved in"):
        run_finetune(finetune_args(synthetic_set("classification"), tmp_path / "failed", *args))
    assert (tmp_path / "failed" / "model.safetensors").is_file()


def test_pretraining_an_eight_frame_model_from_the_cav_mae_checkpoint(synthetic_set, tmp_path):
    folder = tmp_path / "cav"
    assert cli_main(["convert", str(REFERENCE / "cav_mae_pretrain_tiny.pth"), str(folder), *TINY_HEADS]) == 0
    manifests = synthetic_set("pretraining")
    out = tmp_path / "inflated"
    metrics = run_pretrain(
        [
            "--model_name_or_path",
            str(folder),
            "--config_overrides",
            "num_frames=8,tubelet_size=2",
            "--video_init",
            "inflate",
            "--train_file",
            str(manifests["train"]),
            "--validation_file",
            str(manifests["validation"]),
            "--max_eval_samples",
            "8",
            "--output_dir",
            str(out),
            "--do_train",
            "--do_eval",
            "--max_steps",
            "2",
            "--per_device_train_batch_size",
            "4",
            "--save_strategy",
            "no",
            *COMMON,
        ]
    )
    assert metrics["eval_video_reconstruction_loss"] > 0
    saved = json.loads((out / "config.json").read_text())
    assert (saved["num_frames"], saved["tubelet_size"]) == (8, 2)
    video = json.loads((out / "processor_config.json").read_text())["video_processor"]
    assert video["num_frames"] == 8 and video["channel_order"] == "rgb"
