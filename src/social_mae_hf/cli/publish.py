"""`social-mae publish`: convert an original checkpoint with its model card, verify the folder, upload it."""

import argparse

from .convert import add_conversion_options, conversion_kwargs

HELP = "Convert an original checkpoint with its model card, verify the folder reloads identically, upload it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..conversion.cards import CARDS

    parser.add_argument("checkpoint", help="The original .pth checkpoint.")
    parser.add_argument("--card", required=True, choices=sorted(CARDS), help="The model card (model_cards/<card>.md).")
    parser.add_argument(
        "--repo-id", default=None, help="Target Hub repository, organisation/name (default: the card's)."
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="Where to build the folder; must be new or empty (default publish/<organisation>--<name>).",
    )
    parser.add_argument(
        "--id2label",
        default=None,
        help="Label names in the head's output order (required for fine-tuned cards): a JSON file, a JSON "
        "list/object, or comma-separated names.",
    )
    parser.add_argument(
        "--base-model",
        default=None,
        help="Hub id of the pretrained model that fine-tuned cards name as base_model (default: the card's).",
    )
    add_conversion_options(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="Build and verify the folder, list what would be uploaded, stop."
    )
    parser.add_argument("--private", action="store_true", help="Create the repository as private.")
    parser.add_argument("--commit-message", default=None, help="Message of the upload commit.")


def run(args: argparse.Namespace) -> int:
    from ..conversion.publish import BASE_MODEL, publish

    publish(
        args.checkpoint,
        args.card,
        repo_id=args.repo_id,
        output_dir=args.output_dir,
        id2label=args.id2label,
        **conversion_kwargs(args),
        base_model=args.base_model or BASE_MODEL,
        dry_run=args.dry_run,
        private=args.private,
        commit_message=args.commit_message,
    )
    return 0
