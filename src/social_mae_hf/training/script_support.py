"""What every training script does around its run, as transformers' examples do inline: logging set up per
process, and a user's mistake (a bad manifest, path or option) ending the script with one line, not a traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import datasets
import huggingface_hub.utils
import torch.distributed
import transformers

from ..errors import ModelFilesError
from ..hub import HubPushError, HubUnavailableError
from .checkpoints import OutputDirInUse

__all__ = ["USER_ERRORS", "run_script", "setup_logging"]

# A run stopped by one of these is the user's input, not a bug: their messages name the input and what is wrong.
USER_ERRORS = (ValueError, FileNotFoundError, ModelFilesError, OutputDirInUse, HubUnavailableError, HubPushError)


def setup_logging(training_args) -> int:
    """INFO on the main process, warnings elsewhere (transformers' examples' set-up), for this package as well;
    returns the level, for the script's own logger."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    if training_args.should_log:
        transformers.utils.logging.set_verbosity_info()
    log_level = training_args.get_process_log_level()
    logging.getLogger("social_mae_hf").setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    # No "Loading weights" bar (nothing waits on it); the Hub's download bars, which do, stay as they were (transformers
    # turns them off with its own). The Trainer's own progress bars are `--disable_tqdm`'s.
    hub_bars_off = huggingface_hub.utils.are_progress_bars_disabled()
    transformers.utils.logging.disable_progress_bar()
    if not hub_bars_off:
        huggingface_hub.utils.enable_progress_bars()
    logging.getLogger(__name__).warning(
        "Process rank %s, device %s, n_gpu %s, distributed %s, bf16 %s, fp16 %s",
        training_args.process_index,
        training_args.device,
        training_args.n_gpu,
        training_args.parallel_mode.value == "distributed",
        training_args.bf16,
        training_args.fp16,
    )
    return log_level


def run_script(main: Callable[[], object]) -> None:
    """Run a script's `main()`: a user error is printed as one `error:` line (exit status 1), and the process group
    is destroyed however the run ends (a gloo group left to the interpreter's exit can hang in its destructor)."""
    try:
        main()
    except USER_ERRORS as error:
        message = str(error).strip() or type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
