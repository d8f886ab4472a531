"""Fine-tuning Social-MAE / CAV-MAE on labelled clips: classification, multi-label or regression."""

from __future__ import annotations

import csv
import logging
import os

import numpy as np
from transformers import set_seed

from ..configuration_social_mae import SocialMAEConfig
from ..modeling_social_mae import SocialMAEForAudioVisualClassification, SocialMAEForRegression
from .arguments import DataArguments, FinetuneArguments, ModelArguments
from .augmentation import Mixup, SpecAugment, TrainAugmentation
from .data.clip_dataset import ClipDataset
from .data.collator import SocialMAECollator
from .data.splits import load_clip_splits
from .data.targets import TargetEncoder, classes_of
from .losses import parse_class_weights
from .metrics import MetricsComputer
from .model_init import load_model_and_processor
from .optimization import freeze_backbone
from .run import freeze_unused_for_ddp, prepare_run, push_results, train_and_evaluate
from .trainer import SocialMAETrainer

__all__ = ["choose_label_names", "run_finetune"]

logger = logging.getLogger("social_mae_hf.training")


def _checkpoint_label_names(model_args: ModelArguments, task: str) -> list[str] | None:
    """The class names of a fine-tuned checkpoint of the same task (so that its head keeps its meaning)."""
    if not model_args.model_name_or_path:
        return None
    try:
        config = SocialMAEConfig.from_pretrained(
            model_args.model_name_or_path, cache_dir=model_args.cache_dir, revision=model_args.model_revision
        )
    except OSError:
        return None
    names = [config.id2label[i] for i in sorted(config.id2label)]
    problem = "single_label_classification" if task == "classification" else task
    if config.problem_type not in (None, problem) or all(n == f"LABEL_{i}" for i, n in enumerate(names)):
        return None
    return names


def choose_label_names(ft_args: FinetuneArguments, model_args: ModelArguments, splits) -> list[str] | None:
    """Class order: `--class_names`, else the checkpoint's (when the data's classes are among them), else the
    sorted classes of the training split. Regression returns None (its names are the target columns)."""
    if ft_args.task == "regression":
        return None
    if ft_args.class_names:
        return [n.strip() for n in ft_args.class_names.split(",") if n.strip()]
    seen = classes_of([r for split in splits.records.values() for r in split], ft_args.task)
    from_checkpoint = _checkpoint_label_names(model_args, ft_args.task)
    if from_checkpoint is not None and seen <= set(from_checkpoint):
        return from_checkpoint
    if not splits.get("train"):
        raise ValueError(
            "no training split to read the classes from and the checkpoint's labels do not cover the data: "
            "pass --class_names"
        )
    return sorted(seen)


def _media_name(record) -> str:
    media = record.video if record.video is not None else record.audio
    return media if isinstance(media, str) else str(media)


def _write_predictions(path: str, records, predictions: np.ndarray, encoder: TargetEncoder) -> None:
    """One row per test clip: its manifest row and media, the prediction, and per-class probabilities (sigmoids
    for multi-label) or per-target values."""
    predictions = np.asarray(predictions[0] if isinstance(predictions, tuple) else predictions)
    matched = len(predictions) == len(records)
    if not matched:
        logger.warning("Some test clips were skipped: predictions.csv rows cannot be matched to manifest rows")
    names = list(encoder.names)
    if encoder.task == "classification":
        scores = np.exp(predictions - predictions.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
        chosen = [names[int(row.argmax())] for row in scores]
    elif encoder.task == "multi_label_classification":
        scores = 1.0 / (1.0 + np.exp(-predictions))
        chosen = [",".join(n for n, s in zip(names, row) if s > 0.5) for row in scores]
    else:
        scores, chosen = predictions, None
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "media", *(["prediction"] if chosen is not None else []), *names])
        for i, row in enumerate(scores):
            where = [records[i].source, _media_name(records[i])] if matched else ["", ""]
            label = [chosen[i]] if chosen is not None else []
            writer.writerow([*where, *label, *(f"{v:.6g}" for v in row)])


def run_finetune(
    model_args: ModelArguments,
    data_args: DataArguments,
    ft_args: FinetuneArguments,
    training_args,
) -> dict:
    """Fine-tune (and/or evaluate, predict) as the arguments say; returns the metrics written to
    `output_dir/all_results.json`."""
    last_checkpoint = prepare_run(training_args, ft_args.overwrite_output_dir)
    set_seed(training_args.seed)
    task = ft_args.task
    wanted = {"train": training_args.do_train, "validation": training_args.do_eval, "test": training_args.do_predict}
    splits = load_clip_splits(data_args, task, wanted)

    names = choose_label_names(ft_args, model_args, splits)
    if task == "regression":
        names = list(data_args.columns(task).targets)
    encoder = TargetEncoder(task, tuple(names))
    for records in splits.records.values():
        encoder.check(records)

    model_class = SocialMAEForRegression if task == "regression" else SocialMAEForAudioVisualClassification
    updates = {
        "num_labels": encoder.num_labels,
        "id2label": encoder.id2label,
        "label2id": encoder.label2id,
        "problem_type": "single_label_classification" if task == "classification" else task,
    }
    loaded = load_model_and_processor(model_class, config_updates=updates, **model_args.loading_kwargs())
    model, processor = loaded.model, loaded.processor
    if ft_args.freeze_backbone:
        logger.info("Linear probe: froze %d backbone tensors", freeze_backbone(model))
    freeze_unused_for_ddp(model, ft_args.modality, training_args)

    def dataset(split: str, training: bool) -> ClipDataset | None:
        records = splits.get(split)
        if records is None:
            return None
        return ClipDataset(
            records,
            processor,
            encoder,
            modality=ft_args.modality,
            training=training,
            on_decode_error=data_args.on_decode_error,
        )

    train_dataset = dataset("train", True) if training_args.do_train else None
    eval_dataset = dataset("validation", False) if training_args.do_eval else None
    predict_dataset = dataset("test", False) if training_args.do_predict else None

    augmentation = None
    if ft_args.freqm or ft_args.timem or ft_args.mixup:
        if ft_args.mixup and task == "regression":
            raise ValueError("--mixup mixes class labels; it is not defined for regression")
        if (ft_args.freqm or ft_args.timem) and ft_args.modality == "video":
            raise ValueError("--freqm/--timem mask the audio; modality 'video' has none")
        augmentation = TrainAugmentation(
            spec_augment=SpecAugment.for_feature_extractor(processor.feature_extractor, ft_args.freqm, ft_args.timem),
            mixup=Mixup(ft_args.mixup, ft_args.mixup_alpha, encoder.num_labels),
        )
    if ft_args.mixup and training_args.label_smoothing_factor:
        raise ValueError("--label_smoothing_factor cannot be combined with --mixup (soft targets)")
    class_weights = None
    if ft_args.class_weights:
        if task != "classification":
            raise ValueError(f"--class_weights is for single-label classification, not {task!r}")
        if training_args.label_smoothing_factor:
            raise ValueError("--label_smoothing_factor cannot be combined with --class_weights")
        indices = [encoder.encode(r) for r in splits.get("train") or []]
        class_weights = parse_class_weights(ft_args.class_weights, indices, encoder.names)
        logger.info("Class weights: %s", dict(zip(encoder.names, class_weights.tolist())))

    trainer = SocialMAETrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=processor,
        data_collator=SocialMAECollator(),
        compute_metrics=MetricsComputer(task, encoder.names),
        head_learning_rate=ft_args.head_learning_rate,
        train_augmentation=augmentation,
        class_weights=class_weights,
    )
    results = train_and_evaluate(
        trainer, training_args, last_checkpoint, train_dataset=train_dataset, eval_dataset=eval_dataset, splits=splits
    )
    if training_args.do_predict:
        before = trainer.skipped_clips
        output = trainer.predict(predict_dataset, metric_key_prefix="test")
        metrics = dict(output.metrics)
        metrics["test_samples"] = len(predict_dataset)
        metrics["test_skipped_clips"] = trainer.skipped_clips - before
        trainer.log_metrics("test", metrics)
        trainer.save_metrics("test", metrics)
        results.update(metrics)
        if trainer.is_world_process_zero():
            path = os.path.join(training_args.output_dir, "predictions.csv")
            _write_predictions(path, predict_dataset.records, output.predictions, encoder)
            logger.info("Wrote %s", path)
    push_results(
        trainer,
        training_args,
        finetuned_from=model_args.model_name_or_path,
        tasks="video-classification" if task != "regression" else "other",
        dataset=data_args.dataset_name,
    )
    trainer.end()  # ends trackers and the process group (a DDP worker aborts at exit otherwise)
    return results
