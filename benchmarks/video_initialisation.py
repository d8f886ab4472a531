"""Starting an 8-frame Social-MAE from a single-frame CAV-MAE: inflated video weights vs re-initialised ones.

The Social-MAE paper re-initialised the video patch embedding and positions when it went from CAV-MAE's one
frame to 8 frames (tubelets of 2). This measures whether inflating them (`--video_init inflate`, see
`social_mae_hf/training/inflation.py`) starts better, on synthetic data and small models (CPU):

1. pretrain a small single-frame CAV-MAE on synthetic clips (the stand-in for the released CAV-MAE);
2. from it, continue pretraining an 8-frame model, inflated vs re-initialised: evaluation losses at steps 0,
   25 and 100 (evaluation masks are fixed, so the rows are comparable);
3. from it, fine-tune an 8-frame classifier on the 4-class tone x shape task: accuracy after 1 and 3 epochs.

Each comparison runs over several seeds (model init of the new parts, data order, masks).

    PYTHONPATH=src python benchmarks/video_initialisation.py --workdir /tmp/bench_init
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from run_finetune import main as run_finetune  # noqa: E402
from run_pretrain import main as run_pretrain  # noqa: E402

from social_mae_hf.synthetic import write_synthetic_dataset  # noqa: E402

SMALL = (
    "hidden_size=64,num_attention_heads=4,num_modality_layers=2,num_fusion_layers=1,intermediate_size=128,"
    "audio_length=64,image_size=32,decoder_hidden_size=32,decoder_num_hidden_layers=1,decoder_num_attention_heads=4,"
    "decoder_intermediate_size=64"
)
COMMON = ["--report_to", "none", "--use_cpu", "--disable_tqdm", "true", "--save_strategy", "no"]
COMMON += ["--dataloader_num_workers", "2", "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "8"]
COMMON += ["--log_level", "error"]


def data(workdir: Path) -> dict:
    sets = {}
    for task in ("pretraining", "classification"):
        root = workdir / task
        if not (root / "validation.csv").exists():
            # 4 s at 8 fps: the Social-MAE window (4 s at 2 fps) finds 8 distinct frames.
            write_synthetic_dataset(root, task, num_clips={"train": 64, "validation": 32}, duration_s=4.0, fps=8)
        sets[task] = {"train": str(root / "train.csv"), "validation": str(root / "validation.csv")}
    return sets


def source_model(workdir: Path, sets: dict, steps: int) -> Path:
    out = workdir / "cav_mae_source"
    if not (out / "model.safetensors").exists():
        run_pretrain(
            [
                "--config_name", "cav-mae", "--config_overrides", SMALL, "--contrastive_loss_weight", "0.1",
                "--train_file", sets["pretraining"]["train"], "--validation_file", sets["pretraining"]["validation"],
                "--output_dir", str(out), "--do_train", "--do_eval", "--max_steps", str(steps),
                "--learning_rate", "1e-3", "--seed", "0", *COMMON,
            ]
        )  # fmt: skip
    return out


def continue_pretraining(source: Path, sets: dict, init: str, seed: int, out: Path) -> list[dict]:
    run_pretrain(
        [
            "--model_name_or_path", str(source), "--config_overrides", "num_frames=8,tubelet_size=2",
            "--video_init", init, "--contrastive_loss_weight", "0.1",
            "--train_file", sets["pretraining"]["train"], "--validation_file", sets["pretraining"]["validation"],
            "--output_dir", str(out), "--do_train", "--do_eval", "--max_steps", "100", "--learning_rate", "5e-4",
            "--eval_strategy", "steps", "--eval_steps", "25", "--eval_on_start", "--seed", str(seed), *COMMON,
        ]
    )  # fmt: skip
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    return [entry for entry in history if "eval_video_reconstruction_loss" in entry]


def finetune(source: Path, sets: dict, init: str, seed: int, epochs: int, out: Path) -> float:
    metrics = run_finetune(
        [
            "--model_name_or_path", str(source), "--config_overrides", "num_frames=8,tubelet_size=2",
            "--video_init", init,
            "--train_file", sets["classification"]["train"], "--validation_file", sets["classification"]["validation"],
            "--output_dir", str(out), "--do_train", "--do_eval", "--num_train_epochs", str(epochs),
            "--learning_rate", "1e-3", "--seed", str(seed), *COMMON,
        ]
    )  # fmt: skip
    return metrics["eval_accuracy"]


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/social_mae_init_benchmark"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--source-steps", type=int, default=400)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the 2 DataLoader workers get the other core(s)
    sets = data(args.workdir)
    source = source_model(args.workdir, sets, args.source_steps)
    pre = {init: [] for init in ("inflate", "reinit")}
    tuned = {(init, epochs): [] for init in ("inflate", "reinit") for epochs in (1, 3)}
    for seed in range(args.seeds):
        for init in ("inflate", "reinit"):
            pre[init].append(continue_pretraining(source, sets, init, seed, args.workdir / f"pre_{init}_{seed}"))
            for epochs in (1, 3):
                out = args.workdir / f"ft_{init}_{epochs}_{seed}"
                tuned[(init, epochs)].append(finetune(source, sets, init, seed, epochs, out))
    print(f"\nSource: single-frame model pretrained {args.source_steps} steps; {args.seeds} seeds, mean ± sd.")
    print("\n| 8-frame start | step | eval video reconstruction | eval audio reconstruction | eval contrastive acc |")
    print("| --- | --- | --- | --- | --- |")
    for init, runs in pre.items():
        for index in range(len(runs[0])):
            step = runs[0][index]["step"]
            video = [run[index]["eval_video_reconstruction_loss"] for run in runs]
            audio = [run[index]["eval_audio_reconstruction_loss"] for run in runs]
            contrast = [run[index]["eval_contrastive_accuracy"] for run in runs]
            print(f"| {init} | {step} | {mean_sd(video)} | {mean_sd(audio)} | {mean_sd(contrast)} |")
    print("\n| 8-frame start | fine-tuning epochs (8 steps each) | eval accuracy (4 classes) |")
    print("| --- | --- | --- |")
    for (init, epochs), values in tuned.items():
        print(f"| {init} | {epochs} | {mean_sd(values)} |")


if __name__ == "__main__":
    main()
