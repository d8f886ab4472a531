"""From the originals' `.pth` checkpoints to Hub folders: `convert.py` maps the weights, `publish.py` adds the model
card, verifies the folder and uploads it."""

from .convert import CheckpointError, convert_checkpoint

__all__ = ["CheckpointError", "convert_checkpoint"]
