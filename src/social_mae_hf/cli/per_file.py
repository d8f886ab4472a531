"""Running a pipeline over many files, where one bad file must not lose the others' results.

Files are run in groups of `batch_size`, so that windows of several files are still batched together; when a
group fails on an input error, its files are run one by one to find the bad ones. With `on_error="skip"` a bad
file is recorded and the run goes on; with `"abort"` the first one stops the run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import InvalidInputError
from .messages import with_flags

__all__ = [
    "ON_ERROR_CHOICES",
    "FileFailure",
    "WindowOwners",
    "add_on_error",
    "add_windows",
    "report_failures",
    "run_per_file",
    "watch_windows",
]

ON_ERROR_CHOICES = ("skip", "abort")
# What a bad input file raises (decoding, missing stream, empty track, ...); anything else is not the file's fault.
FILE_ERRORS = (InvalidInputError, OSError)


@dataclass(frozen=True)
class FileFailure:
    file: str
    message: str  # names the file


def add_on_error(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-error",
        choices=ON_ERROR_CHOICES,
        default="skip",
        help="A file that cannot be used (corrupt, no sound track, ...): skip it, go on, list it at the end and "
        "exit with status 1 (skip, the default), or stop at it with status 2 (abort).",
    )


def add_windows(parser: argparse.ArgumentParser, what: str) -> None:
    """`--chunk-length-s` / `--stride-length-s`: a long recording as a timeline of windows."""
    parser.add_argument(
        "--chunk-length-s",
        type=float,
        default=None,
        help=f"Cut each recording into windows of this many seconds and {what} each (a timeline). Windows start "
        "every --stride-length-s; the last one ends at the end of the recording (so it may overlap the one before), "
        "and a recording shorter than one window is one window.",
    )
    parser.add_argument(
        "--stride-length-s",
        type=float,
        default=None,
        help="Seconds between window starts (default: the window length; smaller values overlap).",
    )


def watch_windows(pipe, bar, on_windows: Callable[[list[dict]], None] | None = None) -> None:
    """Advance `bar` by the windows of each forward pass of `pipe` (a long recording's windows show progress
    before its file is done), and give `on_windows` each pass's windows, one model output dict each (as the
    pipeline's `postprocess` takes them), as soon as they are computed. Wraps the pipeline instance's `forward`,
    which its chunk iterator calls per batch."""
    forward = pipe.forward

    def watched(model_inputs, **forward_params):
        outputs = forward(model_inputs, **forward_params)
        windows = _unbatched(outputs)
        bar.update(len(windows))
        if on_windows is not None:
            on_windows(windows)
        return outputs

    pipe.forward = watched


def _unbatched(outputs: dict) -> list[dict]:
    """A forward pass's outputs, one dict per window: tensors keep a batch dimension of 1, lists give their item
    (what transformers' pipeline iterator hands `postprocess`). A batch of one (no collate) is already one."""
    if not isinstance(outputs.get("is_last"), list):
        return [outputs]
    return [
        {key: value[i : i + 1] if hasattr(value, "dim") else value[i] for key, value in outputs.items()}
        for i in range(len(outputs["is_last"]))
    ]


class WindowOwners:
    """Which input each computed window belongs to, and its number within that input: windows come in input order,
    each input's ending with `is_last`. `begin(indices)` before each pipeline call on those inputs; a window met
    again (a group run again file by file after an error) is not new (`new` is False)."""

    def __init__(self):
        self.indices: list[int] = []
        self.position = self.window = 0
        self.seen: set[tuple[int, int]] = set()

    def begin(self, indices: list[int]) -> None:
        self.indices, self.position, self.window = list(indices), 0, 0

    def place(self, out: dict) -> tuple[int, int, bool]:
        """(input index, window number, new) of the next window, whose output is `out`."""
        key = (self.indices[self.position], self.window)
        new = key not in self.seen
        self.seen.add(key)
        if out["is_last"]:
            self.position, self.window = self.position + 1, 0
        else:
            self.window += 1
        return (*key, new)


def _message(name: str, error: BaseException) -> str:
    text = str(error)
    return text if name in text else f"{name}: {text}"


def run_per_file(
    run: Callable[[list[int]], list],
    names: list[str],
    group_size: int,
    on_error: str,
    failures: list[FileFailure],
) -> Iterator[tuple[int, object]]:
    """Yield `(index, result)` for every input `run` succeeds on, in order; `run(indices)` returns one result per
    index of `names` (the inputs' names, for messages).

    A failing input is appended to `failures` (on_error="skip") or re-raised (on_error="abort"), after the inputs
    before it whatever `group_size`.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
    size = max(group_size, 1)
    for start in range(0, len(names), size):
        group = list(range(start, min(start + size, len(names))))
        if len(group) > 1:
            try:
                results = run(group)
            except FILE_ERRORS:
                pass  # find the bad file(s) one by one
            else:
                yield from zip(group, results)
                continue
        for index in group:
            try:
                result = run([index])[0]
            except FILE_ERRORS as error:
                if on_error == "abort":
                    raise
                failures.append(FileFailure(names[index], _message(names[index], error)))
                continue
            yield index, result


def report_failures(args: argparse.Namespace, failures: list[FileFailure], total: int) -> int:
    """Print the files that failed to standard error, hints in the command's flags; the exit status: 0 when none
    did, 1 otherwise."""
    if not failures:
        return 0
    print(f"social-mae {args.command}: {len(failures)} of {total} file(s) failed and were skipped:", file=sys.stderr)
    for failure in failures:
        print(f"  {with_flags(failure.message, args.flags)}", file=sys.stderr)
    return 1
