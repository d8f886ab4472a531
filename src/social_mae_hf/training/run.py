"""Steps shared by the fine-tuning and pretraining runs: logging, resuming, train / evaluate / predict, push."""

from __future__ import annotations

import logging
import os
import sys

import datasets
import transformers
from transformers.trainer_utils import get_last_checkpoint

from ..hub import check_hub_available
from .unused_parameters import freeze_unused_parameters

__all__ = ["detect_last_checkpoint", "freeze_unused_for_ddp", "prepare_run", "push_results", "train_and_evaluate"]

logger = logging.getLogger("social_mae_hf.training")


def setup_logging(training_args) -> None:
    """transformers' example-script logging: INFO on the main process, warnings elsewhere."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    if training_args.should_log:
        transformers.utils.logging.set_verbosity_info()
    level = training_args.get_process_log_level()
    logging.getLogger("social_mae_hf").setLevel(level)
    datasets.utils.logging.set_verbosity(level)
    transformers.utils.logging.set_verbosity(level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()


def detect_last_checkpoint(training_args, overwrite_output_dir: bool) -> str | None:
    """The last `checkpoint-*` in `output_dir` to resume from when training and not told to start afresh."""
    output_dir = training_args.output_dir
    if not (training_args.do_train and os.path.isdir(output_dir)) or overwrite_output_dir:
        return None
    last = get_last_checkpoint(output_dir)
    if last is not None and training_args.resume_from_checkpoint is None:
        logger.info(
            "Checkpoint detected, resuming training at %s. Pass --overwrite_output_dir to start afresh, or "
            "--resume_from_checkpoint to pick another.",
            last,
        )
    return last


def prepare_run(training_args, overwrite_output_dir: bool) -> str | None:
    """Logging, the up-front Hub check for --push_to_hub, and the checkpoint to resume from."""
    setup_logging(training_args)
    logger.warning(
        "Process rank %s, device %s, n_gpu %s, distributed %s, bf16 %s, fp16 %s",
        training_args.process_index,
        training_args.device,
        training_args.n_gpu,
        training_args.parallel_mode.value == "distributed",
        training_args.bf16,
        training_args.fp16,
    )
    if training_args.push_to_hub:
        check_hub_available(token=training_args.hub_token)
    if not (training_args.do_train or training_args.do_eval or training_args.do_predict):
        raise ValueError("nothing to do: pass --do_train, --do_eval and/or --do_predict")
    return detect_last_checkpoint(training_args, overwrite_output_dir)


def freeze_unused_for_ddp(model, modality: str, training_args) -> list[str]:
    """Freeze what this mode leaves without gradient, so that DDP runs without its unused-parameter search
    (unless the user set `--ddp_find_unused_parameters`); returns the frozen names."""
    unused = freeze_unused_parameters(model, modality)
    if unused:
        logger.info("Froze %d tensors that modality %r never uses: %s", len(unused), modality, unused)
    if training_args.ddp_find_unused_parameters is None:
        training_args.ddp_find_unused_parameters = False
    return unused


def train_and_evaluate(trainer, training_args, last_checkpoint, *, train_dataset, eval_dataset, splits) -> dict:
    """Train (resuming when asked or detected), save, evaluate; metrics go to `{split}_results.json` and
    `all_results.json` in `output_dir`, with the number of clips left out for missing files (`splits`)."""
    results = {}
    if splits.missing_files:
        results["missing_files_skipped"] = sum(splits.missing_files.values())
    if training_args.do_train:
        checkpoint = training_args.resume_from_checkpoint or last_checkpoint
        train_result = trainer.train(resume_from_checkpoint=checkpoint)
        trainer.save_model()
        metrics = dict(train_result.metrics)
        metrics["train_samples"] = len(train_dataset)
        metrics["train_skipped_clips"] = trainer.skipped_clips
        trainer.log_metrics("train", metrics)
        trainer.save_metrics("train", metrics)
        trainer.save_state()
        results.update(metrics)
    if training_args.do_eval:
        before = trainer.skipped_clips
        metrics = trainer.evaluate(eval_dataset)
        metrics["eval_samples"] = len(eval_dataset)
        metrics["eval_skipped_clips"] = trainer.skipped_clips - before
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results.update(metrics)
    return results


def push_results(trainer, training_args, **card) -> None:
    """`trainer.push_to_hub` with a model card (a failure raises `HubPushError`, naming where the outputs are)."""
    if training_args.push_to_hub:
        trainer.push_to_hub(**card)
