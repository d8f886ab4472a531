"""What a rerun in the same output folder picks up: the newest complete checkpoint, or a run that already finished.

A run killed while the `Trainer` writes `checkpoint-N` leaves a folder the `Trainer` cannot resume from ("Can't
find a valid checkpoint"). `Trainer._save_checkpoint` writes the model (config, weights, preprocessor config,
`training_args.bin`), then the optimizer, scheduler, scaler and RNG states, and `trainer_state.json` last. A
checkpoint is complete when `trainer_state.json` reads back at the folder's step and what was written before it
is whole: model weights (safetensors files as long as their header says, every shard of an index), torch files
(zip archives whose directory, written last, is there), and the optimizer and scheduler states unless the run
saves the model only. Incomplete checkpoints are skipped with a warning.

A run is finished when its saved state already reached this run's end (`max_steps`, else `num_train_epochs`):
training it again would take an extra step and overwrite the final weights, so the scripts skip training.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")  # the Trainer's `PREFIX_CHECKPOINT_DIR-{global_step}`
# Weight files `Trainer._load_from_checkpoint` accepts, and the prefix of FSDP's sharded model folders/files.
_WEIGHTS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
)
_FSDP_WEIGHTS = "pytorch_model_fsdp"
_TORCH_FILES = (".pt", ".pth", ".bin")
# DeepSpeed keeps model, optimizer and scheduler in `global_step{N}/`; FSDP its optimizer as `optimizer.bin` or
# `optimizer_0/`.
_DEEPSPEED = re.compile(r"^global_step\d+$")


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _whole_safetensors(path: Path) -> bool:
    """The file is as long as its header says (8-byte header size, JSON header, then the tensors' bytes)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            return False
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size > size - 8:
            return False
        try:
            header = json.loads(handle.read(header_size))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return False
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    return size == 8 + header_size + max(ends, default=0)


def checkpoint_problems(folder: str | os.PathLike, *, optimizer_state: bool = True) -> list[str]:
    """What makes `folder` (a `checkpoint-N`) unusable for resuming; empty when it is complete.

    Args:
        optimizer_state: Whether the optimizer and scheduler states must be there (`False` for runs with
            `save_only_model`).
    """
    folder = Path(folder)
    names = set(os.listdir(folder))
    problems = []
    state = _read_json(folder / TRAINER_STATE) if TRAINER_STATE in names else None
    match = _CHECKPOINT.match(folder.name)
    if TRAINER_STATE not in names:
        problems.append(f"no {TRAINER_STATE} (it is written last)")
    elif state is None:
        problems.append(f"{TRAINER_STATE} does not read as JSON")
    elif match and state.get("global_step") != int(match.group(1)):
        problems.append(f"{TRAINER_STATE} is at step {state.get('global_step')}, not {match.group(1)}")
    deepspeed = any(_DEEPSPEED.match(name) and (folder / name).is_dir() for name in names)
    weights = any(name in names for name in _WEIGHTS) or any(name.startswith(_FSDP_WEIGHTS) for name in names)
    if not (weights or deepspeed):
        problems.append("no model weights")
    for name in sorted(names):
        path = folder / name
        if not path.is_file():
            continue
        if name.endswith(".safetensors"):
            whole = _whole_safetensors(path)
        elif name.endswith(_TORCH_FILES):
            whole = zipfile.is_zipfile(path)  # torch.save's zip archive ends with its directory
        else:
            whole = True
        if not whole:
            problems.append(f"{name} is cut short")
        if name.endswith(".index.json"):
            index = _read_json(path)
            shards = set((index or {}).get("weight_map", {}).values())
            if index is None or not shards:
                problems.append(f"{name} does not read as a weight index")
            elif missing := sorted(shards - names):
                problems.append(f"{name} lists missing shards {missing}")
    if optimizer_state and not deepspeed:
        if not any("optimizer" in name for name in names):
            problems.append("no optimizer state (optimizer.pt)")
        if "scheduler.pt" not in names:
            problems.append("no scheduler state (scheduler.pt)")
    return problems


def _checkpoints(output_dir: Path) -> list[Path]:
    """`checkpoint-N` folders of `output_dir`, newest (highest step) first."""
    found = [(int(m.group(1)), p) for p in output_dir.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir()]
    return [path for _, path in sorted(found, reverse=True)]


def last_complete_checkpoint(output_dir: str | os.PathLike, *, optimizer_state: bool = True) -> str | None:
    """The newest complete `checkpoint-N` of `output_dir` (`None`: none), warning about newer incomplete ones.

    Unlike `transformers.trainer_utils.get_last_checkpoint`, a folder half-written by a killed run is passed over
    instead of making the resumed run fail. It is left in place: the run writes it again when it reaches its step.
    """
    skipped = []
    for path in _checkpoints(Path(output_dir)):
        problems = checkpoint_problems(path, optimizer_state=optimizer_state)
        if not problems:
            if skipped:
                logger.warning("Resuming from %s, the newest complete checkpoint", path)
            return str(path)
        skipped.append(path)
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
    state = _read_json(final) if final.is_file() else None
    if _reached_end(state, max_steps, num_train_epochs):
        return FinishedRun(str(final), str(output_dir), True, state["global_step"])
    if last_checkpoint is None:
        return None
    path = Path(last_checkpoint) / TRAINER_STATE
    state = _read_json(path)
    if not _reached_end(state, max_steps, num_train_epochs):
        return None
    model = Path(last_checkpoint)
    if load_best_model_at_end and state.get("best_model_checkpoint"):
        # Saved as the run named its output folder; look for it in this one.
        best = output_dir / Path(state["best_model_checkpoint"]).name
        if best.is_dir() and not checkpoint_problems(best, optimizer_state=False):
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
    if not os.path.isdir(args.output_dir):
        return None, None
    last_checkpoint = last_complete_checkpoint(args.output_dir, optimizer_state=not args.save_only_model)
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
