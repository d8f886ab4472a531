"""The model cards `social-mae publish` knows, and the checkpoints they describe (standard library only, so that
the command line lists them without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BASE_MODEL", "CARDS", "CardSpec"]


@dataclass(frozen=True)
class CardSpec:
    """A model card and the checkpoint it describes; `repo_id` is the default target, used in the card's code."""

    name: str
    repo_id: str
    family: str  # "social-mae" (8 frames) or "cav-mae" (1 frame)
    stage: str  # "pretraining" or "finetuned"
    task: str | None = None  # the converter's task for fine-tuned checkpoints
    config_overrides: dict = field(default_factory=dict)  # settings shapes cannot tell (see the card)


CARDS = {
    spec.name: spec
    for spec in (
        CardSpec("social-mae", "social-mae-hf/social-mae", "social-mae", "pretraining"),
        CardSpec("social-mae-cremad", "social-mae-hf/social-mae-cremad", "social-mae", "finetuned", "classification"),
        CardSpec(
            "social-mae-first-impressions",
            "social-mae-hf/social-mae-first-impressions",
            "social-mae",
            "finetuned",
            "regression",
        ),
        CardSpec("social-mae-ndc-me", "social-mae-hf/social-mae-ndc-me", "social-mae", "finetuned", "classification"),
        # The CAV-MAE README: Scale++ trained with norm_pix_loss=True and tr_pos=False.
        CardSpec(
            "cav-mae",
            "social-mae-hf/cav-mae",
            "cav-mae",
            "pretraining",
            config_overrides={"norm_pix_loss": True, "trainable_position_embeddings": False},
        ),
    )
}
BASE_MODEL = CARDS["social-mae"].repo_id
