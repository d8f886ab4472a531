#!/usr/bin/env python
"""Fine-tune Social-MAE / CAV-MAE on labelled clips (classification, multi-label or regression).

    python examples/run_finetune.py --model_name_or_path ./social-mae-pretrained \
        --train_file train.csv --validation_file val.csv --output_dir out --do_train --do_eval

Runs unchanged under `accelerate launch` (DDP; FSDP / DeepSpeed through an Accelerate config). Arguments can
also come from one JSON file (`python examples/run_finetune.py args.json`). Every option: `--help`.

The script reads top to bottom as the run goes: arguments, logging, the checkpoint to resume from, the clips
(loaded with `datasets`, or shards), the classes, the model, the decoding transform and the training recipe, the
`Trainer`, train / evaluate / predict, push. What is specific to these models and data is in
`social_mae_hf.training`.
"""

import os
import sys

# With DataLoader workers decoding on a CPU-only machine, OpenMP threads that spin-wait in the training process
# starve the workers (a data-bound run measured 1.4x slower); passive waiting costs nothing measurable on full-size
# steps (benchmarks/README.md). Set before torch is imported; an OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from transformers import HfArgumentParser, TrainingArguments, set_seed

from social_mae_hf import (
    SocialMAEConfig,
    SocialMAEForAudioVisualClassification,
    SocialMAEForRegression,
)
from social_mae_hf.training import (
    DataArguments,
    Mixup,
    ModelArguments,
    SocialMAECollator,
    SocialMAETrainer,
    SpecAugment,
    TargetEncoder,
    TrainAugmentation,
    decoded_dataset,
    load_clip_datasets,
    load_model_and_processor,
    parse_class_weights,
    resume_point,
    run_script,
    setup_logging,
    write_predictions,
)

logger = logging.getLogger(__name__)

TASKS = ("classification", "multi_label_classification", "regression")


def comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# ---- which classes the run predicts, and in which order ----------------------------------------------------------
# `--class_names` when given; else a fine-tuned checkpoint's own label names when the data's classes are among them
# (so that its head keeps its meaning); else the sorted classes of the training split. Read from the data, a class
# that only validation or test clips have, or two names that differ only by case ("Happy" / "happy"), would become
# an output that no training clip teaches: both are errors naming the classes and their splits, unless
# `--class_names` lists the classes to keep.


def checkpoint_label_names(
    model_name_or_path: str | None,
    task: str,
    *,
    cache_dir: str | None = None,
    revision: str = "main",
    token: str | None = None,
) -> list[str] | None:
    """The class names of a fine-tuned checkpoint of the same task; `None` for a pretrained or unnamed head."""
    if not model_name_or_path:
        return None
    try:
        config = SocialMAEConfig.from_pretrained(
            model_name_or_path, cache_dir=cache_dir, revision=revision, token=token
        )
    except OSError:
        return None
    names = [config.id2label[i] for i in sorted(config.id2label)]
    problem = "single_label_classification" if task == "classification" else task
    if config.problem_type not in (None, problem) or all(n == f"LABEL_{i}" for i, n in enumerate(names)):
        return None
    return names


def _where(name: str, by_split: Mapping[str, set[str]], checkpoint: Iterable[str]) -> str:
    places = [split for split, classes in by_split.items() if name in classes]
    places += ["the checkpoint's labels"] if name in checkpoint else []
    return f"{name!r} ({', '.join(places)})"


def _check_case_variants(by_split: Mapping[str, set[str]], checkpoint: Sequence[str]) -> None:
    """Names that differ only by case, in the data or between the data and the checkpoint, are one class
    spelled two ways far more often than two classes."""
    variants: dict[str, set[str]] = {}
    for name in set().union(*by_split.values(), checkpoint):
        variants.setdefault(name.casefold(), set()).add(name)
    in_data = set().union(*by_split.values())
    clashes = [sorted(names) for names in variants.values() if len(names) > 1 and len(names & in_data) > 0]
    if clashes:
        listed = "; ".join(" vs ".join(_where(n, by_split, checkpoint) for n in names) for names in sorted(clashes))
        raise ValueError(
            f"class names that differ only by case: {listed}. Spell each class one way in the labels, or pass "
            "--class_names listing every class to keep them apart."
        )


def choose_label_names(
    task: str,
    records: Mapping[str, set[str] | None],
    *,
    class_names: Sequence[str] | None = None,
    checkpoint_names: Sequence[str] | None = None,
) -> list[str] | None:
    """Class names in output order for `records` (split -> the class names its clips use, `None` when unknown: a
    stream); `None` for regression (its names are the target columns).

    Args:
        class_names: The user's explicit classes and order (`--class_names`); they are taken as given.
        checkpoint_names: The starting checkpoint's classes ([`checkpoint_label_names`]).

    Raises:
        ValueError: Read from the data, classes that differ only by case, or classes with no training clip.
    """
    if task == "regression":
        return None
    by_split = {split: set(value) for split, value in records.items() if value is not None}
    if class_names:
        names = [name.strip() for name in class_names if name.strip()]
        untaught = sorted(set(names) - by_split["train"]) if "train" in by_split else []
        if untaught:
            logger.warning("--class_names has class(es) with no training clip: %s", untaught)
        return names
    unknown = sorted(split for split, value in records.items() if value is None)
    if unknown:
        raise ValueError(
            f"the classes of the streamed split(s) {unknown} are unknown (shards without a `social-mae shard` index, "
            "or a `datasets` stream whose label column is not a ClassLabel): pass --class_names"
        )
    seen = set().union(*by_split.values())
    if checkpoint_names is not None and seen <= set(checkpoint_names):
        return list(checkpoint_names)
    _check_case_variants(by_split, checkpoint_names or ())
    if not records.get("train"):
        raise ValueError(
            "no training split to read the classes from and the checkpoint's labels do not cover the data: "
            "pass --class_names"
        )
    untaught = sorted(seen - by_split["train"])
    if untaught:
        listed = ", ".join(_where(name, by_split, ()) for name in untaught)
        raise ValueError(
            f"class(es) with no training clip: {listed}. The model would get an output that training never "
            "teaches. Fix the labels, or pass --class_names listing every class to keep them."
        )
    return sorted(by_split["train"])


@dataclass
class LabelArguments:
    """Where the labels are (and the test split, which only fine-tuning predicts)."""

    test_file: str | None = field(default=None, metadata={"help": "Test manifest (--do_predict)."})
    test_split_name: str = field(default="test", metadata={"help": "Split value / dataset split for testing."})
    test_shards: str | None = field(default=None, metadata={"help": "Test shards (as --train_shards)."})
    label_column: str = field(default="label", metadata={"help": "Class name column (or class names, multi-label)."})
    target_columns: str | None = field(
        default=None, metadata={"help": "Regression: comma-separated float target columns, in output order."}
    )
    label_separator: str = field(
        default=",", metadata={"help": "Separator of class names in a multi-label cell (or use a JSON list)."}
    )
    max_predict_samples: int | None = field(default=None, metadata={"help": "Use only the first N test clips."})


@dataclass
class FinetuneArguments:
    """The fine-tuning task and its recipe."""

    task: str = field(default="classification", metadata={"help": "What the labels are.", "choices": list(TASKS)})
    modality: str = field(
        default="audiovisual",
        metadata={
            "help": "Inputs the model sees (the originals' single-modality modes).",
            "choices": ["audiovisual", "audio", "video"],
        },
    )
    class_names: str | None = field(
        default=None,
        metadata={"help": "Comma-separated class names in output order (default: the checkpoint's, else sorted)."},
    )
    class_weights: str | None = field(
        default=None,
        metadata={"help": "'balanced' (n / (classes x count)) or one comma-separated weight per class."},
    )
    freeze_backbone: bool = field(default=False, metadata={"help": "Train the head only (a linear probe)."})
    head_learning_rate: float | None = field(
        default=None, metadata={"help": "Learning rate of the new head (default: --learning_rate)."}
    )
    freqm: int = field(default=0, metadata={"help": "SpecAugment: widest frequency mask in mel bins (CAV-MAE: 48)."})
    timem: int = field(default=0, metadata={"help": "SpecAugment: widest time mask in frames (CAV-MAE: 192)."})
    mixup: float = field(default=0.0, metadata={"help": "Probability that a training clip is mixed (CAV-MAE: 0.5)."})
    mixup_alpha: float = field(default=10.0, metadata={"help": "Mixup weight ~ Beta(alpha, alpha) (CAV-MAE: 10)."})
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start afresh even if --output_dir holds checkpoints (default: resume from the last one)."},
    )


def main(argv: list[str] | None = None) -> dict:
    """Fine-tune (and/or evaluate, predict) as the arguments say; returns the metrics written to
    `output_dir/all_results.json`."""
    parser = HfArgumentParser((ModelArguments, DataArguments, LabelArguments, FinetuneArguments, TrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, label_args, ft_args, training_args = parser.parse_json_file(
            json_file=os.path.abspath(sys.argv[1])
        )
    else:
        model_args, data_args, label_args, ft_args, training_args = parser.parse_args_into_dataclasses(args=argv)

    logger.setLevel(setup_logging(training_args))
    if not (training_args.do_train or training_args.do_eval or training_args.do_predict):
        raise ValueError("nothing to do: pass --do_train, --do_eval and/or --do_predict")
    task = ft_args.task
    targets = comma_list(label_args.target_columns)
    if task == "regression" and not targets:
        raise ValueError("regression needs --target_columns (comma-separated float columns)")
    if task != "regression" and targets:
        raise ValueError(f"--target_columns is for regression, not {task!r}")
    if (ft_args.class_weights or "").strip() == "balanced" and not training_args.do_train:
        raise ValueError(
            "--class_weights balanced counts the training clips: it needs --do_train (or give one weight per class)"
        )
    if data_args.streaming and training_args.do_train and training_args.max_steps <= 0:
        raise ValueError("a --streaming dataset has no length: give --max_steps (shards have one)")

    # The checkpoint to resume from (the newest complete one), or a training that already finished; the output
    # folder is this run's alone while it trains.
    last_checkpoint, finished = resume_point(training_args, ft_args.overwrite_output_dir)
    set_seed(training_args.seed)

    # The clips of each split, loaded with `datasets` (manifests, a dataset, a stream) or shards; checked now, their
    # media decoded later, in the DataLoader workers.
    columns = data_args.columns(label=label_args.label_column if task != "regression" else None, targets=tuple(targets))
    raw_datasets, missing_files = load_clip_datasets(
        task,
        {"train": training_args.do_train, "validation": training_args.do_eval, "test": training_args.do_predict},
        columns,
        files={"train": data_args.train_file, "validation": data_args.validation_file, "test": label_args.test_file},
        shards={
            "train": data_args.train_shards,
            "validation": data_args.validation_shards,
            "test": label_args.test_shards,
        },
        streaming=data_args.streaming,
        manifest=data_args.manifest,
        dataset_name=data_args.dataset_name,
        dataset_config_name=data_args.dataset_config_name,
        split_names={
            "train": data_args.train_split_name,
            "validation": data_args.validation_split_name,
            "test": label_args.test_split_name,
        },
        max_samples={
            "train": data_args.max_train_samples,
            "validation": data_args.max_eval_samples,
            "test": label_args.max_predict_samples,
        },
        on_decode_error=data_args.on_decode_error,
        cache_dir=model_args.cache_dir,
        token=model_args.token,
    )

    # The classes (or regression targets), in model output order; every clip's target is checked against them.
    reader = TargetEncoder(task, (), columns, label_args.label_separator)
    if task == "regression":
        names = targets
    else:
        names = choose_label_names(
            task,
            {split: reader.class_names(dataset, split) for split, dataset in raw_datasets.items()},
            class_names=comma_list(ft_args.class_names),
            checkpoint_names=checkpoint_label_names(
                model_args.model_name_or_path,
                task,
                cache_dir=model_args.cache_dir,
                revision=model_args.model_revision,
                token=model_args.token,
            ),
        )
    encoder = TargetEncoder(task, tuple(names), columns, label_args.label_separator)
    for split, dataset in raw_datasets.items():
        encoder.check(dataset, split)

    # The model and its processor (with the face crop when asked); what the modality never uses is frozen.
    start = {"model_name_or_path": finished.model_path} if finished is not None else {
        "model_name_or_path": model_args.model_name_or_path,
        "config_name": model_args.config_name,
        "config_overrides": model_args.config_overrides,
        "processor_name": model_args.processor_name,
        "video_init": model_args.video_init,
    }  # fmt: skip
    model_class = SocialMAEForRegression if task == "regression" else SocialMAEForAudioVisualClassification
    loaded = load_model_and_processor(
        model_class,
        **start,
        face_crop=data_args.face_crop_settings,
        modality=ft_args.modality,
        freeze_backbone=ft_args.freeze_backbone,
        config_updates={
            "num_labels": encoder.num_labels,
            "id2label": encoder.id2label,
            "label2id": encoder.label2id,
            "problem_type": "single_label_classification" if task == "classification" else task,
        },
        attn_implementation=model_args.attn_implementation,
        cache_dir=model_args.cache_dir,
        revision=model_args.model_revision,
        token=model_args.token,
    )
    model, processor = loaded.model, loaded.processor

    # Each split decoded on the fly by the processor (a `set_transform`; shards and streams as they are read), with
    # a random frame choice in training.
    datasets = {
        split: decoded_dataset(
            raw,
            processor,
            encoder,
            split=split,
            modality=ft_args.modality,
            training=split == "train",
            on_decode_error=data_args.on_decode_error,
            shuffle_buffer_size=data_args.shuffle_buffer_size,
            seed=training_args.data_seed if training_args.data_seed is not None else training_args.seed,
            use_precomputed_features=data_args.use_precomputed_features,
        )
        for split, raw in raw_datasets.items()
    }

    # The recipe: CAV-MAE's augmentations, class weights.
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
        balanced = ft_args.class_weights.strip() == "balanced"
        indices = encoder.class_indices(raw_datasets["train"], "train") if balanced else []
        class_weights = parse_class_weights(ft_args.class_weights, indices, encoder.names)
        logger.info("Class weights: %s", dict(zip(encoder.names, class_weights.tolist())))

    trainer = SocialMAETrainer(
        model=model,
        args=training_args,
        train_dataset=datasets.get("train"),
        eval_dataset=datasets.get("validation"),
        processing_class=processor,
        data_collator=SocialMAECollator(),
        missing_files=missing_files,
        head_learning_rate=ft_args.head_learning_rate,
        train_augmentation=augmentation,
        class_weights=class_weights,
    )

    # Training (a run that already finished trains no more), evaluation, prediction with predictions.csv
    results = {}
    if training_args.do_train:
        results.update(trainer.train_and_save(training_args.resume_from_checkpoint or last_checkpoint, finished))
    for split, prefix in (("validation", "eval"), ("test", "test")):
        if split not in datasets:
            continue
        output = trainer.predict(datasets[split], metric_key_prefix=prefix) if split == "test" else None
        metrics = output.metrics if output is not None else trainer.evaluate(datasets[split])
        trainer.log_metrics(prefix, metrics)
        trainer.save_metrics(prefix, metrics)
        results.update(metrics)
        if split == "test" and trainer.is_world_process_zero():
            path = os.path.join(training_args.output_dir, "predictions.csv")
            write_predictions(path, datasets[split], output.predictions, encoder)
            logger.info("Wrote %s", path)

    # Push to the Hub with a model card (a failure raises HubPushError, naming where the outputs are).
    if training_args.push_to_hub:
        trainer.push_to_hub(
            finetuned_from=model_args.model_name_or_path,
            tasks="video-classification" if task != "regression" else "other",
            dataset=data_args.dataset_name,
        )
    trainer.end()  # ends trackers and the process group (a DDP worker aborts at exit otherwise)
    return results


if __name__ == "__main__":
    run_script(main)
