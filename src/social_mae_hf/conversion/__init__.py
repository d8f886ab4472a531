"""From the originals' `.pth` checkpoints to Hub folders: `convert.py` maps the weights, `publish.py` adds the model
card, verifies the folder and uploads it; `cards.py` lists the cards."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .convert import CheckpointError, convert_checkpoint

__all__ = ["CheckpointError", "convert_checkpoint"]


def __getattr__(name: str):
    """Imported on first use: the command line imports `cards` without torch."""
    if name in __all__:
        from . import convert

        return getattr(convert, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
