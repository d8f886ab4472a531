"""Optimizer parameter groups: the pretrained backbone and the new head learn at their own rates.

Both originals fine-tune with Adam and a separate learning rate for the freshly initialised head
(CAV-MAE: `lr * head_lr`; Social-MAE: `--lr_mlp`), and can freeze the backbone for a linear probe.
"""

from __future__ import annotations

from collections.abc import Collection

from torch import nn

__all__ = ["HEAD_PREFIX", "freeze_backbone", "is_head_parameter", "parameter_groups"]

HEAD_PREFIX = "classifier."


def is_head_parameter(name: str) -> bool:
    """Whether a parameter name (possibly under a wrapper's prefix, e.g. `module.`) belongs to the head."""
    return name.startswith(HEAD_PREFIX) or f".{HEAD_PREFIX}" in name


def freeze_backbone(model: nn.Module) -> int:
    """Stop gradients to everything but the head (a linear probe); returns the number of frozen tensors."""
    frozen = 0
    heads = 0
    for name, parameter in model.named_parameters():
        if is_head_parameter(name):
            heads += 1
            continue
        if parameter.requires_grad:
            parameter.requires_grad_(False)
            frozen += 1
    if heads == 0:
        raise ValueError(f"{type(model).__name__} has no `{HEAD_PREFIX}` head to train; cannot freeze the backbone")
    return frozen


def parameter_groups(
    model: nn.Module,
    *,
    learning_rate: float,
    head_learning_rate: float | None,
    weight_decay: float,
    decay: Collection[str],
) -> list[dict]:
    """Up to four groups: backbone / head, each with and without weight decay (`decay`: the names that decay, from
    `Trainer.get_decay_parameter_names`). Frozen parameters are left out; empty groups dropped."""
    head_lr = learning_rate if head_learning_rate is None else head_learning_rate
    groups: dict[tuple[bool, bool], dict] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        head, decays = is_head_parameter(name), name in decay
        group = groups.setdefault(
            (head, decays),
            {
                "params": [],
                "lr": head_lr if head else learning_rate,
                "weight_decay": weight_decay if decays else 0.0,
                "name": f"{'head' if head else 'backbone'}{'' if decays else '_no_decay'}",
            },
        )
        group["params"].append(parameter)
    if not groups:
        raise ValueError("no parameter requires a gradient: nothing to train")
    return [groups[key] for key in sorted(groups)]
