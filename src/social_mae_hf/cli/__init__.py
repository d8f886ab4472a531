"""`social-mae` command line: one subcommand per job, each a thin wrapper over the package.

Building the parser imports no torch or transformers (each command imports what it runs on inside `run`), so that
`--help` and `--version` answer at once.
"""

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version

from .inputs import give_face_crop_its_detector
from .messages import keyword_flags, with_flags

# Subcommand name -> module of this package with HELP, add_arguments(parser) and run(args) -> exit status, and
# optionally KEYWORD_FLAGS: library keywords whose option has another name (keyword -> flag), for error messages.
COMMANDS = {
    "demo": "demo",
    "predict": "predict",
    "evaluate": "evaluate",
    "embed": "embed",
    "reconstruct": "reconstruct",
    "synthetic-data": "synthetic_data",
    "shard": "shard",
    "manifest": "manifest",
    "convert": "convert",
    "publish": "publish",
}
# The commands that load or save transformers models, whose own bars are turned off while they run.
LOADS_MODELS = frozenset({"demo", "predict", "evaluate", "embed", "reconstruct", "convert", "publish"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="social-mae", description="Social-MAE / CAV-MAE audiovisual models for Hugging Face transformers."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('social-mae-hf')}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"{__name__}.{module_name}")
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run, flags=keyword_flags(sub, getattr(module, "KEYWORD_FLAGS", None)))
    return parser


class _FlagHints(logging.Handler):
    """The package's warnings on standard error, their hints in the running command's flags (as its errors are),
    written above any progress bar."""

    def __init__(self, command: str, flags: dict):
        super().__init__(logging.WARNING)
        self.command, self.flags = command, flags

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        try:
            tqdm.write(
                f"social-mae {self.command}: warning: {with_flags(record.getMessage(), self.flags)}", file=sys.stderr
            )
        except Exception:
            self.handleError(record)


@contextmanager
def _quiet_library(args: argparse.Namespace) -> Iterator[None]:
    """While a command runs: transformers' own bars off (loading and writing weights: nothing waits on them; a Hub
    download's bar stays, unless --quiet), and the package's warnings through `_FlagHints`."""
    package = logging.getLogger("social_mae_hf")
    hints = _FlagHints(args.command, args.flags)
    package.addHandler(hints)
    if args.command not in LOADS_MODELS:  # importing transformers costs a second: only where it is used
        try:
            yield
        finally:
            package.removeHandler(hints)
        return
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as transformers_logging

    bars, hub_bars_off = transformers_logging.is_progress_bar_enabled(), are_progress_bars_disabled()
    transformers_logging.disable_progress_bar()  # transformers' bars, and the Hub's ...
    if not (hub_bars_off or getattr(args, "quiet", False)):
        enable_progress_bars()  # ... whose download bars are worth their lines
    try:
        yield
    finally:
        package.removeHandler(hints)
        with warnings.catch_warnings():  # the Hub warns that HF_HUB_DISABLE_PROGRESS_BARS keeps its bars off
            warnings.simplefilter("ignore")
            if bars:
                transformers_logging.enable_progress_bar()
            (disable_progress_bars if hub_bars_off else enable_progress_bars)()


def main(argv: Sequence[str] | None = None) -> int:
    argv = give_face_crop_its_detector(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    with _quiet_library(args):
        try:
            return args.run(args)
        except (ValueError, OSError) as error:
            print(f"social-mae {args.command}: error: {with_flags(str(error), args.flags)}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
