#!/usr/bin/env python
"""Pretrain (or continue pretraining) Social-MAE / CAV-MAE on unlabelled clips with sound.

    python examples/run_pretrain.py --model_name_or_path ./social-mae-pretrained \
        --train_file clips.csv --validation_file held_out.csv --output_dir out --do_train --do_eval

Runs unchanged under `accelerate launch` (DDP; FSDP / DeepSpeed through an Accelerate config). Arguments can
also come from one JSON file (`python examples/run_pretrain.py args.json`). Every option: `--help`.

The script reads top to bottom as the run goes: arguments, logging, the checkpoint to resume from, the clips
(loaded with `datasets`, or shards), the model, the decoding transform, the `Trainer`, train / evaluate, push.
What is specific to these models and data is in `social_mae_hf.training`.
"""

import os
import sys

# With DataLoader workers decoding on a CPU-only machine, OpenMP threads that spin-wait in the training process
# starve the workers (a data-bound run measured 1.4x slower); passive waiting costs nothing measurable on full-size
# steps (benchmarks/README.md). Set before torch is imported; an OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import logging
from dataclasses import dataclass, field

from transformers import HfArgumentParser, TrainingArguments, set_seed

from social_mae_hf import SocialMAEForPreTraining
from social_mae_hf.training import (
    DataArguments,
    ModelArguments,
    SocialMAECollator,
    SocialMAEPreTrainingTrainer,
    decoded_dataset,
    load_clip_datasets,
    load_model_and_processor,
    resume_point,
    run_script,
    setup_logging,
)

logger = logging.getLogger(__name__)


@dataclass
class PretrainArguments:
    """Pretraining losses (default: the checkpoint's or preset's config)."""

    audio_mask_ratio: float | None = field(default=None, metadata={"help": "Share of audio tokens masked."})
    video_mask_ratio: float | None = field(default=None, metadata={"help": "Share of video tokens masked."})
    reconstruction_loss_weight: float | None = field(default=None, metadata={"help": "Weight of the MAE losses."})
    contrastive_loss_weight: float | None = field(default=None, metadata={"help": "Weight of the contrastive loss."})
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start afresh even if --output_dir holds checkpoints (default: resume from the last one)."},
    )


def main(argv: list[str] | None = None) -> dict:
    """Pretrain (and/or evaluate the reconstruction and contrastive losses); returns the metrics written to
    `output_dir/all_results.json`."""
    parser = HfArgumentParser((ModelArguments, DataArguments, PretrainArguments, TrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, pt_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, pt_args, training_args = parser.parse_args_into_dataclasses(args=argv)

    logger.setLevel(setup_logging(training_args))
    if training_args.do_predict:
        raise ValueError("--do_predict has no meaning for pretraining; use --do_eval on a held-out split")
    if not (training_args.do_train or training_args.do_eval):
        raise ValueError("nothing to do: pass --do_train and/or --do_eval")
    if data_args.streaming and training_args.do_train and training_args.max_steps <= 0:
        raise ValueError("a --streaming dataset has no length: give --max_steps (shards have one)")

    # The checkpoint to resume from (the newest complete one), or a training that already finished; the output
    # folder is this run's alone while it trains.
    last_checkpoint, finished = resume_point(training_args, pt_args.overwrite_output_dir)
    set_seed(training_args.seed)

    # Unlabelled clips, loaded with `datasets` (manifests, a dataset, a stream) or shards.
    columns = data_args.columns()
    wanted = {"train": training_args.do_train, "validation": training_args.do_eval}
    raw_datasets, missing_files = load_clip_datasets(
        "pretraining",
        wanted,
        columns,
        files={"train": data_args.train_file, "validation": data_args.validation_file},
        shards={"train": data_args.train_shards, "validation": data_args.validation_shards},
        streaming=data_args.streaming,
        manifest=data_args.manifest,
        dataset_name=data_args.dataset_name,
        dataset_config_name=data_args.dataset_config_name,
        split_names={"train": data_args.train_split_name, "validation": data_args.validation_split_name},
        max_samples={"train": data_args.max_train_samples, "validation": data_args.max_eval_samples},
        on_decode_error=data_args.on_decode_error,
        cache_dir=model_args.cache_dir,
        token=model_args.token,
    )

    # The model and its processor, with the pretraining losses asked for (and the face crop when asked).
    if finished is not None:  # training already finished: evaluate with the model it ended with
        start = {"model_name_or_path": finished.model_path}
    else:
        start = {key: getattr(model_args, key) for key in ("model_name_or_path", "config_name", "config_overrides")}
        start.update(processor_name=model_args.processor_name, video_init=model_args.video_init)
    losses = ("audio_mask_ratio", "video_mask_ratio", "reconstruction_loss_weight", "contrastive_loss_weight")
    loaded = load_model_and_processor(
        SocialMAEForPreTraining,
        **start,
        face_crop=data_args.face_crop_settings,
        modality="audiovisual",
        config_updates={name: getattr(pt_args, name) for name in losses if getattr(pt_args, name) is not None},
        attn_implementation=model_args.attn_implementation,
        cache_dir=model_args.cache_dir,
        revision=model_args.model_revision,
        token=model_args.token,
    )

    # Each split decoded on the fly (random frame choice in training); evaluation masks are seeded by the trainer.
    seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
    datasets = {}
    for split, raw in raw_datasets.items():
        datasets[split] = decoded_dataset(
            raw,
            loaded.processor,
            columns,
            split=split,
            training=split == "train",
            on_decode_error=data_args.on_decode_error,
            shuffle_buffer_size=data_args.shuffle_buffer_size,
            seed=seed,
            use_precomputed_features=data_args.use_precomputed_features,
        )

    trainer = SocialMAEPreTrainingTrainer(
        model=loaded.model,
        args=training_args,
        train_dataset=datasets.get("train"),
        eval_dataset=datasets.get("validation"),
        processing_class=loaded.processor,
        data_collator=SocialMAECollator(),
        missing_files=missing_files,
    )

    # Training (a run that already finished trains no more), then the held-out losses.
    results = {}
    if training_args.do_train:
        results.update(trainer.train_and_save(training_args.resume_from_checkpoint or last_checkpoint, finished))
    if training_args.do_eval:
        metrics = trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results.update(metrics)

    # Push to the Hub with a model card (a failure raises HubPushError, naming where the outputs are).
    if training_args.push_to_hub:
        trainer.push_to_hub(finetuned_from=model_args.model_name_or_path, tasks="other")
    trainer.end()  # ends trackers and the process group (a DDP worker aborts at exit otherwise)
    return results


if __name__ == "__main__":
    run_script(main)
