"""`social-mae` command line: one subcommand per job, each a thin wrapper over the package.

Building the parser imports no torch or transformers (each command imports what it runs on inside `run`), so that
`--help` and `--version` answer at once.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import version

from .inputs import give_face_crop_its_detector
from .messages import keyword_flags, with_flags

# Subcommand name -> module of this package with HELP, add_arguments(parser) and run(args) -> exit status, and
# optionally KEYWORD_FLAGS: library keywords whose option has another name (keyword -> flag), for error messages.
COMMANDS = {
    "demo": "demo",
    "predict": "predict",
    "embed": "embed",
    "reconstruct": "reconstruct",
    "synthetic-data": "synthetic_data",
    "shard": "shard",
    "manifest": "manifest",
    "convert": "convert",
    "publish": "publish",
}


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = give_face_crop_its_detector(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    if quiet:
        from transformers.utils import logging

        logging.disable_progress_bar()  # transformers' own bars (loading weights)
    try:
        return args.run(args)
    except (ValueError, OSError) as error:
        print(f"social-mae {args.command}: error: {with_flags(str(error), args.flags)}", file=sys.stderr)
        return 2
    finally:
        if quiet:
            logging.enable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
