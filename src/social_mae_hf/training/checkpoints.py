"""What a rerun in the same output folder picks up: the newest complete checkpoint, or a run that already finished.

A run killed while the `Trainer` writes `checkpoint-N` leaves a folder the `Trainer` cannot resume from, and
`transformers.trainer_utils.get_last_checkpoint` (5.25) still picks it: it neither checks nor writes atomically.
`Trainer._save_checkpoint` has the main process write the model, optimizer, scheduler, scaler and RNG states, and
`trainer_state.json` last; the other processes' shards (FSDP, DeepSpeed) are written by collective saves that end
before it goes on. A kill loses nothing written, so a checkpoint is complete when `trainer_state.json` reads back at
the folder's step and the RNG states that the other processes write without waiting (`rng_state_N.pth`, unordered
with `trainer_state.json`) are whole. Incomplete checkpoints are skipped with a warning.

A run is finished when its saved state already reached this run's end (`max_steps`, else `num_train_epochs`):
training it again would take an extra step and overwrite the final weights, so the scripts skip training.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, sort_checkpoints

__all__ = [
    "FinishedRun",
    "OutputDirInUse",
    "checkpoint_problems",
    "finished_run",
    "last_complete_checkpoint",
    "lock_output_dir",
    "resume_point",
]

logger = logging.getLogger(__name__)

TRAINER_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def checkpoint_problems(folder: str | os.PathLike) -> list[str]:
    """What makes `folder` (a `checkpoint-N`) unusable for resuming; empty when it is complete."""
    folder = Path(folder)
    state = _read_json(folder / TRAINER_STATE)
    match = _CHECKPOINT.match(folder.name)
    if state is None:
        return [f"no readable {TRAINER_STATE} (it is written last)"]
    if match and state.get("global_step") != int(match.group(1)):
        return [f"{TRAINER_STATE} is at step {state.get('global_step')}, not {match.group(1)}"]
    # torch.save's zip archive ends with its directory: a file cut short has none.
    return [f"{p.name} is cut short" for p in sorted(folder.glob("rng_state_*.pth")) if not zipfile.is_zipfile(p)]


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest complete `checkpoint-N` of `output_dir` (`None`: none), warning about newer incomplete ones.

    Unlike `get_last_checkpoint`, a folder half-written by a killed run is passed over instead of making the resumed
    run fail. It is left in place: the run writes it again when it reaches its step.
    """
    skipped = False
    for path in reversed(sort_checkpoints(str(output_dir))):  # the Trainer's own order (by step) for rotating them
        if not (problems := checkpoint_problems(path)):
            if skipped:
                logger.warning("Resuming from %s, the newest complete checkpoint", path)
            return str(path)
        skipped = True
        logger.warning(
            "Skipping checkpoint %s: incomplete (%s), as a run killed while saving leaves it", path, "; ".join(problems)
        )
    if skipped:
        logger.warning("No complete checkpoint in %s: training starts from the beginning", output_dir)
    return None


@dataclass(frozen=True)
class FinishedRun:
    """A run whose training already reached its end.

    Attributes:
        state_path: The `trainer_state.json` that says so.
        model_path: The folder holding the model the run ended with (the output folder, or the last or best
            checkpoint when the final save was cut short).
        saved: Whether the output folder already holds the final model and state.
        global_step: The step training ended at.
    """

    state_path: str
    model_path: str
    saved: bool
    global_step: int

    def message(self, output_dir: str) -> str:
        save = "" if self.saved else f"; its final save, cut short, is completed from {self.model_path}"
        return (
            f"Training already complete: {self.state_path} is at step {self.global_step}, the end of this run. "
            f"Not training again: the model in {output_dir} stays as it is{save}, and --do_eval / --do_predict "
            "use it. Pass --overwrite_output_dir to train afresh, or a larger --max_steps / --num_train_epochs to "
            "train on."
        )


def _reached_end(state: dict | None, max_steps: int, num_train_epochs: float) -> bool:
    if state is None or not isinstance(state.get("global_step"), int):
        return False
    if max_steps > 0:
        return state["global_step"] >= max_steps
    epoch = state.get("epoch")
    # The Trainer stops after ceil(epochs x steps per epoch) steps, so a finished run's epoch is at least this.
    return isinstance(epoch, (int, float)) and epoch >= num_train_epochs - 1e-6


def finished_run(
    output_dir: str | os.PathLike,
    last_checkpoint: str | None,
    *,
    max_steps: int,
    num_train_epochs: float,
    load_best_model_at_end: bool = False,
) -> FinishedRun | None:
    """Whether training in `output_dir` already reached `max_steps` (when > 0) or `num_train_epochs`.

    The output folder's `trainer_state.json` (saved after the final model) is read first; then the state of
    `last_checkpoint`, for a run killed after its last checkpoint and before its final save.
    """
    output_dir = Path(output_dir)
    final = output_dir / TRAINER_STATE
    if _reached_end(state := _read_json(final), max_steps, num_train_epochs):
        return FinishedRun(str(final), str(output_dir), True, state["global_step"])
    if last_checkpoint is None:
        return None
    path = Path(last_checkpoint) / TRAINER_STATE
    if not _reached_end(state := _read_json(path), max_steps, num_train_epochs):
        return None
    model = Path(last_checkpoint)
    if load_best_model_at_end and state.get("best_model_checkpoint"):
        # Saved as the run named its output folder; look for it in this one.
        best = output_dir / Path(state["best_model_checkpoint"]).name
        if best.is_dir() and not checkpoint_problems(best):
            model = best
    return FinishedRun(str(path), str(model), False, state["global_step"])


class OutputDirInUse(RuntimeError):
    """Another run is writing checkpoints into the same output folder."""


_HELD_LOCKS: dict[str, object] = {}  # output folder -> its open lock file, for this process's lifetime


def lock_output_dir(output_dir: str | os.PathLike) -> None:
    """Hold an exclusive lock on `output_dir` until this process ends, so that two runs never interleave their
    checkpoints. The lock file holds the holder's pid and host for the message; the operating system drops the lock
    when the process ends, however it ends (a kill -9 included), so a resume is never blocked by a dead run. A
    process that already holds the folder (a script's `main` called again, as the tests do) keeps it.

    Raises [`OutputDirInUse`] naming the other run."""
    import fcntl
    import socket

    folder = Path(output_dir).resolve()
    if str(folder) in _HELD_LOCKS:
        return
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".run.lock", "a+")  # noqa: SIM115 - held open while the process lives
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "an unknown process"
        handle.close()
        raise OutputDirInUse(
            f"--output_dir {output_dir} is in use by another run ({holder}): wait for it to end, or choose "
            "another --output_dir"
        ) from None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()} on host {socket.gethostname()}\n")
    handle.flush()
    _HELD_LOCKS[str(folder)] = handle


def resume_point(training_args, overwrite_output_dir: bool = False) -> tuple[str | None, FinishedRun | None]:
    """Where a training run in `training_args.output_dir` starts: `(the newest complete checkpoint or None, the run
    that already finished or None)`. Nothing to pick up without `do_train`, with `--resume_from_checkpoint` (the
    Trainer takes that one) or with `--overwrite_output_dir`. A training run takes the folder's lock (on its main
    process): a second run into it is refused, naming the first."""
    args = training_args
    if args.do_train and args.process_index == 0:
        lock_output_dir(args.output_dir)
    if not args.do_train or args.resume_from_checkpoint is not None or overwrite_output_dir:
        return None, None
    if not os.path.isdir(args.output_dir):  # a fresh run's other processes
        return None, None
    last_checkpoint = last_complete_checkpoint(args.output_dir)
    finished = finished_run(
        args.output_dir,
        last_checkpoint,
        max_steps=args.max_steps,
        num_train_epochs=args.num_train_epochs,
        load_best_model_at_end=args.load_best_model_at_end,
    )
    if finished is not None:
        logger.warning(finished.message(args.output_dir))
    elif last_checkpoint is not None:
        logger.info(
            "Checkpoint detected, resuming training at %s. Pass --overwrite_output_dir to start afresh, or "
            "--resume_from_checkpoint to pick another.",
            last_checkpoint,
        )
    return last_checkpoint, finished
