#!/usr/bin/env python
"""Pretrain (or continue pretraining) Social-MAE / CAV-MAE on unlabelled clips with sound.

    python examples/run_pretrain.py --model_name_or_path ./social-mae-pretrained \
        --train_file clips.csv --validation_file held_out.csv --output_dir out --do_train --do_eval

Runs unchanged under `accelerate launch` (DDP; FSDP / DeepSpeed through an Accelerate config). Arguments can
also come from one JSON file (`python examples/run_pretrain.py args.json`). Every option: `--help`. The work
is done by `social_mae_hf.training.run_pretrain`.
"""

import os
import sys

# With DataLoader workers decoding on a CPU-only machine, OpenMP threads that spin-wait in the training process
# starve the workers (a data-bound run measured 1.4x slower); passive waiting costs nothing measurable on full-size
# steps (benchmarks/README.md). Set before torch is imported; an OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from transformers import HfArgumentParser, TrainingArguments

from social_mae_hf.training import DataArguments, ModelArguments, PretrainArguments, run_pretrain


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((ModelArguments, DataArguments, PretrainArguments, TrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        args = parser.parse_args_into_dataclasses(args=argv)
    return run_pretrain(*args)


if __name__ == "__main__":
    main()
