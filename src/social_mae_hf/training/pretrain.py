"""Pretraining (or continuing to pretrain) Social-MAE / CAV-MAE on unlabelled clips with sound."""

from __future__ import annotations

from transformers import set_seed

from ..modeling_social_mae import SocialMAEForPreTraining
from .arguments import DataArguments, ModelArguments, PretrainArguments
from .data.clip_dataset import ClipDataset
from .data.collator import SocialMAECollator
from .data.splits import load_clip_splits
from .data.targets import TargetEncoder
from .metrics import MetricsComputer
from .model_init import load_model_and_processor
from .run import freeze_unused_for_ddp, prepare_run, push_results, train_and_evaluate
from .trainer import SocialMAEPreTrainingTrainer

__all__ = ["run_pretrain"]


def run_pretrain(
    model_args: ModelArguments,
    data_args: DataArguments,
    pt_args: PretrainArguments,
    training_args,
) -> dict:
    """Pretrain (and/or evaluate the reconstruction and contrastive losses); returns the metrics written to
    `output_dir/all_results.json`."""
    last_checkpoint = prepare_run(training_args, pt_args.overwrite_output_dir)
    if training_args.do_predict:
        raise ValueError("--do_predict has no meaning for pretraining; use --do_eval on a held-out split")
    set_seed(training_args.seed)
    wanted = {"train": training_args.do_train, "validation": training_args.do_eval}
    splits = load_clip_splits(data_args, "pretraining", wanted)
    loaded = load_model_and_processor(
        SocialMAEForPreTraining, config_updates=pt_args.config_updates(), **model_args.loading_kwargs()
    )
    model, processor = loaded.model, loaded.processor
    freeze_unused_for_ddp(model, "audiovisual", training_args)
    targets = TargetEncoder("pretraining", ())

    def dataset(split: str, training: bool) -> ClipDataset | None:
        records = splits.get(split)
        if records is None:
            return None
        return ClipDataset(records, processor, targets, training=training, on_decode_error=data_args.on_decode_error)

    train_dataset = dataset("train", True) if training_args.do_train else None
    eval_dataset = dataset("validation", False) if training_args.do_eval else None
    trainer = SocialMAEPreTrainingTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=processor,
        data_collator=SocialMAECollator(),
        compute_metrics=MetricsComputer("pretraining"),
    )
    results = train_and_evaluate(
        trainer, training_args, last_checkpoint, train_dataset=train_dataset, eval_dataset=eval_dataset, splits=splits
    )
    push_results(trainer, training_args, finetuned_from=model_args.model_name_or_path, tasks="other")
    trainer.end()  # ends trackers and the process group (a DDP worker aborts at exit otherwise)
    return results
