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
    "add_on_error",
    "add_windows",
    "count_windows",
    "report_failures",
    "run_per_file",
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


def count_windows(pipe, bar) -> None:
    """Advance `bar` by the windows of each forward pass of `pipe` (a long recording's windows show progress
    before its file is done). Wraps the pipeline instance's `forward`, which its chunk iterator calls per batch."""
    forward = pipe.forward

    def counted(model_inputs, **forward_params):
        first = next(iter(model_inputs.values()))  # a model input: (windows, ...)
        windows = len(first) if hasattr(first, "__len__") else 1
        outputs = forward(model_inputs, **forward_params)
        bar.update(windows)
        return outputs

    pipe.forward = counted


def _message(name: str, error: BaseException) -> str:
    text = str(error)
    return text if name in text else f"{name}: {text}"


def run_per_file(
    run: Callable[[list[str]], list],
    names: list[str],
    group_size: int,
    on_error: str,
    failures: list[FileFailure],
) -> Iterator[tuple[str, object]]:
    """Yield `(name, result)` for every file `run` succeeds on, in order; `run(names)` returns one result per name.

    A failing file is appended to `failures` (on_error="skip") or re-raised (on_error="abort"), after the files
    before it whatever `group_size`.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
    size = max(group_size, 1)
    for start in range(0, len(names), size):
        group = names[start : start + size]
        if len(group) > 1:
            try:
                results = run(group)
            except FILE_ERRORS:
                pass  # find the bad file(s) one by one
            else:
                yield from zip(group, results)
                continue
        for name in group:
            try:
                result = run([name])[0]
            except FILE_ERRORS as error:
                if on_error == "abort":
                    raise
                failures.append(FileFailure(name, _message(name, error)))
                continue
            yield name, result


def report_failures(args: argparse.Namespace, failures: list[FileFailure], total: int) -> int:
    """Print the files that failed to standard error, hints in the command's flags; the exit status: 0 when none
    did, 1 otherwise."""
    if not failures:
        return 0
    print(f"social-mae {args.command}: {len(failures)} of {total} file(s) failed and were skipped:", file=sys.stderr)
    for failure in failures:
        print(f"  {with_flags(failure.message, args.flags)}", file=sys.stderr)
    return 1
