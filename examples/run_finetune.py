#!/usr/bin/env python
"""Fine-tune Social-MAE / CAV-MAE on labelled clips (classification, multi-label or regression).

    python examples/run_finetune.py --model_name_or_path ./social-mae-pretrained \
        --train_file train.csv --validation_file val.csv --output_dir out --do_train --do_eval

Runs unchanged under `accelerate launch` (DDP; FSDP / DeepSpeed through an Accelerate config). Arguments can
also come from one JSON file (`python examples/run_finetune.py args.json`). Every option: `--help`. The work
is done by `social_mae_hf.training.run_finetune`.
"""

import os
import sys

# With DataLoader workers decoding on a CPU-only machine, OpenMP threads that spin-wait in the training process
# starve the workers (a data-bound run measured 1.4x slower); passive waiting costs nothing measurable on full-size
# steps (benchmarks/README.md). Set before torch is imported; an OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from transformers import HfArgumentParser, TrainingArguments

from social_mae_hf.training import DataArguments, FinetuneArguments, ModelArguments, run_finetune


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((ModelArguments, DataArguments, FinetuneArguments, TrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        args = parser.parse_args_into_dataclasses(args=argv)
    return run_finetune(*args)


if __name__ == "__main__":
    main()
