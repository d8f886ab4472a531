"""`social-mae publish`: an original checkpoint -> a verified, Hub-ready folder with its model card -> the Hub.

Steps: convert (weights, config with the complete `auto_map`, code files, processor config), write the card
(`model_cards/<card>.md`, its repo id replaced by the target's), reload the folder the way users will and check
the outputs are identical, then upload the folder. Nothing waits on the network: with `--dry-run`, with
`HF_HUB_OFFLINE` set, or when the Hub does not answer within a few seconds, it says what it would upload and
stops there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import HfApi, ModelCard

from ..configuration_social_mae import SocialMAEConfig
from ..hub import hub_endpoint, hub_offline, hub_reachable
from ..loading import check_processor_matches
from ..modeling_social_mae import SocialMAEForPreTraining, hub_auto_map, hub_custom_pipelines
from .cards import BASE_MODEL, CARDS, CardSpec
from .convert import convert_checkpoint, save_converted

__all__ = [
    "CARDS",
    "MODEL_CARDS",
    "PublishResult",
    "card_text",
    "publish",
    "verify_folder",
]

# The cards live in the source checkout (`model_cards/` next to `src/`); publishing is a maintainer's job.
MODEL_CARDS = Path(__file__).resolve().parents[3] / "model_cards"


def replace_repo_id(text: str, old: str, new: str) -> str:
    """Replace a repo id where it stands alone (`org/social-mae`, not the start of `org/social-mae-cremad`)."""
    return re.sub(re.escape(old) + r"(?![\w-]|\.\w)", lambda _: new, text)


def card_text(spec: CardSpec, repo_id: str, base_model: str = BASE_MODEL) -> str:
    path = MODEL_CARDS / f"{spec.name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model card (publishing needs the source checkout's model_cards/)")
    text = replace_repo_id(path.read_text(encoding="utf-8"), spec.repo_id, repo_id)
    return replace_repo_id(text, BASE_MODEL, base_model) if spec.stage == "finetuned" else text


@dataclass
class PublishResult:
    folder: Path
    repo_id: str
    files: list[tuple[str, int]]  # (name, bytes)
    uploaded: bool
    reason: str | None = None  # why nothing was uploaded
    commit_url: str | None = None


def _check_spec(model, spec: CardSpec, checkpoint) -> None:
    family = "cav-mae" if model.config.num_frames == 1 else "social-mae"
    stage = "pretraining" if isinstance(model, SocialMAEForPreTraining) else "finetuned"
    if (family, stage) != (spec.family, spec.stage):
        raise ValueError(
            f"{checkpoint}: is a {family} {stage} checkpoint, but card {spec.name!r} describes a {spec.family} "
            f"{spec.stage} checkpoint"
        )


def _probe_inputs(config: SocialMAEConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "input_values": torch.randn(2, config.audio_length, config.num_mel_bins, generator=generator),
        "pixel_values": torch.randn(
            2, config.num_frames, config.num_channels, config.image_size, config.image_size, generator=generator
        ),
        "audio_noise": torch.rand(2, config.num_audio_patches, generator=generator),
        "video_noise": torch.rand(2, config.num_video_patches, generator=generator),
    }


@torch.no_grad()
def _outputs(model, probe: dict) -> dict[str, torch.Tensor]:
    model.eval()
    if isinstance(model, SocialMAEForPreTraining):
        out = model(**probe)
        return {"audio_logits": out.audio_logits, "video_logits": out.video_logits, "loss": out.loss}
    return {"logits": model(input_values=probe["input_values"], pixel_values=probe["pixel_values"]).logits}


def verify_folder(model, folder: Path) -> list[str]:
    """Reload `folder` with the Auto classes, as users will, and require identical outputs, a fitting processor,
    the code files and the complete `auto_map`. Returns what was checked."""
    from transformers import AutoModelForPreTraining, AutoProcessor

    from ..auto import AutoModelForAudioVisualClassification

    auto = (
        AutoModelForPreTraining if isinstance(model, SocialMAEForPreTraining) else AutoModelForAudioVisualClassification
    )
    reloaded = auto.from_pretrained(folder)
    if type(reloaded) is not type(model):
        raise ValueError(f"{folder}: reloads as {type(reloaded).__name__}, not {type(model).__name__}")
    probe = _probe_inputs(model.config)
    expected, got = _outputs(model, probe), _outputs(reloaded, probe)
    for name, value in expected.items():
        if not torch.equal(value, got[name]):
            difference = (value - got[name]).abs().max().item()
            raise ValueError(f"{folder}: after reloading, `{name}` differs by up to {difference:.3g}")
    processor = AutoProcessor.from_pretrained(folder)
    check_processor_matches(processor, reloaded.config, str(folder))
    config = json.loads((folder / "config.json").read_text())
    if config.get("auto_map") != hub_auto_map(type(model).__name__):
        raise ValueError(f"{folder}: config.json's auto_map is {config.get('auto_map')}, not the complete one")
    if config.get("custom_pipelines") != hub_custom_pipelines():
        raise ValueError(f"{folder}: config.json's custom_pipelines is {config.get('custom_pipelines')}, not ours")
    code = (
        "modeling_social_mae.py",
        "processing_social_mae.py",
        "feature_extraction_social_mae.py",
        "video_processing_social_mae.py",
        "pipeline_social_mae.py",
    )
    missing = [f for f in code if not (folder / f).is_file()]
    if missing:
        raise ValueError(f"{folder}: missing code files {missing} (needed for trust_remote_code)")
    card = ModelCard((folder / "README.md").read_text(encoding="utf-8"))
    if card.data.library_name != "transformers" or card.data.license != "bsd-2-clause":
        raise ValueError(f"{folder}: README.md metadata lacks library_name: transformers / license: bsd-2-clause")
    return [
        f"{type(reloaded).__name__} reloads with identical {', '.join(expected)}",
        f"{type(processor).__name__} fits the model",
        "auto_map, custom_pipelines and code files for trust_remote_code",
        "model card metadata",
    ]


def publish(
    checkpoint: str | os.PathLike,
    card: str,
    *,
    repo_id: str | None = None,
    output_dir: str | os.PathLike | None = None,
    id2label=None,
    num_frames: int | None = None,
    num_attention_heads: int = 12,
    decoder_num_attention_heads: int = 16,
    base_model: str = BASE_MODEL,
    dry_run: bool = False,
    private: bool = False,
    commit_message: str | None = None,
    timeout: float = 3.0,
    log: Callable[[str], None] = print,
) -> PublishResult:
    """Convert `checkpoint` for `card` (one of `CARDS`), verify the folder, and upload it to `repo_id`."""
    if card not in CARDS:
        raise ValueError(f"unknown model card {card!r}; choose one of {sorted(CARDS)}")
    spec = CARDS[card]
    repo_id = repo_id or spec.repo_id
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        raise ValueError(f"repo id {repo_id!r} must look like 'organisation/name'")
    if spec.stage == "finetuned" and id2label is None:
        raise ValueError(
            f"card {card!r} is for a fine-tuned checkpoint, whose label names and order the original does not record: "
            "pass --id2label in the order the head was trained with"
        )
    folder = Path(output_dir) if output_dir is not None else Path("publish") / repo_id.replace("/", "--")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder}: is a file, not a folder to publish into")
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder}: is not empty; publish into a new folder so that nothing stale is uploaded")

    model = convert_checkpoint(
        checkpoint,
        None,
        num_frames=num_frames,
        num_attention_heads=num_attention_heads,
        decoder_num_attention_heads=decoder_num_attention_heads,
        task=spec.task,
        id2label=id2label,
        log=log,
        **spec.config_overrides,
    )
    _check_spec(model, spec, checkpoint)
    save_converted(model, folder)
    (folder / "README.md").write_text(card_text(spec, repo_id, base_model), encoding="utf-8")
    for line in verify_folder(model, folder):
        log(f"verified: {line}")

    files = sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file())
    reason = None
    if dry_run:
        reason = "--dry-run"
    elif hub_offline():
        reason = "HF_HUB_OFFLINE is set"
    elif not hub_reachable(timeout):
        reason = f"the Hub did not answer within {timeout:g} s"
    if reason is not None:
        log(f"not uploading ({reason}); would upload {folder} to {hub_endpoint()}/{repo_id}:")
        for name, size in files:
            log(f"  {name:<36} {size:>14,} bytes")
        return PublishResult(folder, repo_id, files, uploaded=False, reason=reason)

    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        commit_message=commit_message or f"Upload {card}, converted with social-mae-hf",
    )
    url = getattr(commit, "commit_url", None) or str(commit)
    log(f"uploaded {len(files)} files to {hub_endpoint()}/{repo_id} ({url})")
    return PublishResult(folder, repo_id, files, uploaded=True, commit_url=url)
