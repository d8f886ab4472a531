"""Hub-ready folders: `push_to_hub` uploads code files and a complete `auto_map`; the pushed repos load by id from an
offline Hub cache with the package installed and, in an interpreter where it cannot be imported, with
`trust_remote_code=True`, giving the same numbers as the converted folders: the models, the processor and its two
parts through their Auto classes, and transformers' own video-classification pipeline."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import transformers.utils.hub as transformers_hub
from conftest import tiny_inputs
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file
from transformers import pipeline

from social_mae_hf import (
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
    SocialMAEProcessor,
)
from social_mae_hf.modeling_social_mae import hub_auto_map

SRC = Path(__file__).parents[1] / "src"
SCRIPT = Path(__file__).parent / "hub_loader_script.py"
# repo id -> (converted fixture, class it was saved as)
REPOS = {
    "social-mae-hf/tiny-pretrain": ("social_mae_pretrain", SocialMAEForPreTraining),
    "social-mae-hf/tiny-cremad": ("social_mae_finetune", SocialMAEForAudioVisualClassification),
    "social-mae-hf/tiny-first-impressions": ("social_mae_regression", SocialMAEForRegression),
    "social-mae-hf/tiny-cav-mae": ("cav_mae_finetune", SocialMAEForAudioVisualClassification),
}
CODE_FILES = {"configuration_social_mae.py", "modeling_social_mae.py", "processing_social_mae.py"}
CODE_FILES |= {"feature_extraction_social_mae.py", "video_processing_social_mae.py"}
CODE_FILES |= {
    "batching.py",
    "errors.py",
    "face_crop.py",
    "face_detection.py",
    "face_geometry.py",
    "face_mtcnn.py",
    "face_tracking.py",
    "fbank.py",
    "frame_sampling.py",
    "media.py",
    "audio_reading.py",
    "frame_reading.py",
    "time_ranges.py",
    "unknown_settings.py",
}
# What the loader script feeds the feature extractor alone.
WAVEFORM = torch.sin(torch.arange(24000) * 0.05)


class FakeHub:
    """Stands in for `HfApi` in `push_to_hub`: keeps what would be uploaded, per repo."""

    def __init__(self):
        self.repos: dict[str, dict[str, bytes]] = {}

    def create_repo(self, repo_id, **kwargs):
        self.repos.setdefault(repo_id, {})
        return SimpleNamespace(repo_id=repo_id)

    def create_commit(self, repo_id, operations, **kwargs):
        for op in operations:
            self.repos[repo_id][op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()


def write_hub_cache(cache: Path, repo_id: str, files: dict[str, bytes]) -> str:
    """huggingface_hub's cache layout: blobs by content hash, a snapshot of symlinks per commit, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(b"".join(hashlib.sha256(files[n]).digest() for n in sorted(files))).hexdigest()
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return commit


@pytest.fixture(scope="module")
def pushed(converted):
    """Every converted folder loaded and pushed (model and processor) to a fake Hub."""
    hub = FakeHub()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transformers_hub, "hf_api", lambda: hub)
        patch.setattr(transformers_hub, "create_and_tag_model_card", lambda *a, **k: ModelCard("---\n---\n"))
        for repo_id, (name, model_class) in REPOS.items():
            model_class.from_pretrained(converted[name]).push_to_hub(repo_id)
            SocialMAEProcessor.from_pretrained(converted[name]).push_to_hub(repo_id)
    return hub.repos


def test_pushed_repos_carry_code_and_a_complete_auto_map(pushed):
    for repo_id, (_, model_class) in REPOS.items():
        files = pushed[repo_id]
        assert set(files) >= CODE_FILES, f"{repo_id}: missing {CODE_FILES - set(files)}"
        assert "legacy_settings.py" not in files  # only the installed package reads pre-split folders
        assert {"config.json", "model.safetensors", "processor_config.json", "README.md"} <= set(files)
        config = json.loads(files["config.json"])
        assert config["auto_map"] == hub_auto_map(model_class.__name__)
        assert config["architectures"] == [model_class.__name__]
        processor = json.loads(files["processor_config.json"])
        assert processor["processor_class"] == "SocialMAEProcessor"
        assert processor["auto_map"] == {"AutoProcessor": "processing_social_mae.SocialMAEProcessor"}
        parts = {
            "feature_extractor": ("AutoFeatureExtractor", "feature_extraction_social_mae.SocialMAEFeatureExtractor"),
            "video_processor": ("AutoVideoProcessor", "video_processing_social_mae.SocialMAEVideoProcessor"),
        }
        for part, (auto_class, reference) in parts.items():
            assert processor[part]["auto_map"][auto_class] == reference
        # The copied code is the package's own.
        assert files["modeling_social_mae.py"] == (SRC / "social_mae_hf" / "modeling_social_mae.py").read_bytes()
    pretrain_map = hub_auto_map("SocialMAEForPreTraining")
    assert pretrain_map["AutoModelForPreTraining"] == "modeling_social_mae.SocialMAEForPreTraining"
    assert pretrain_map["AutoModel"] == "modeling_social_mae.SocialMAEModel"
    assert hub_auto_map("SocialMAEForRegression")["AutoModelForVideoClassification"].endswith("SocialMAEForRegression")
    assert "AutoModelForPreTraining" not in hub_auto_map("SocialMAEForAudioVisualClassification")


def _expected(converted, inputs: dict, clip: str) -> dict:
    """The outputs of the converted folders, loaded in this process with the concrete classes."""
    expected = {}
    with torch.no_grad():
        for repo_id, (name, model_class) in REPOS.items():
            x = {k[len(repo_id) + 1 :]: v for k, v in inputs.items() if k.startswith(repo_id + "/")}
            model_inputs = {"input_values": x["input_values"], "pixel_values": x["pixel_values"]}
            encoder = SocialMAEModel.from_pretrained(converted[name]).eval()
            expected[f"{repo_id}/pooler_output"] = encoder(**model_inputs).pooler_output
            model = model_class.from_pretrained(converted[name]).eval()
            if model_class is SocialMAEForPreTraining:
                out = model(**model_inputs, audio_noise=x["audio_noise"], video_noise=x["video_noise"])
                expected[f"{repo_id}/audio_logits"] = out.audio_logits
                expected[f"{repo_id}/video_logits"] = out.video_logits
                expected[f"{repo_id}/loss"] = out.loss
            else:
                expected[f"{repo_id}/logits"] = model(**model_inputs).logits
            processor = SocialMAEProcessor.from_pretrained(converted[name])
            for key, value in processor(videos=clip).items():
                expected[f"{repo_id}/features/{key}"] = value
            expected[f"{repo_id}/video_processor/pixel_values"] = processor.video_processor(clip)["pixel_values"]
            audio = processor.feature_extractor(WAVEFORM, sampling_rate=16000)["input_values"]
            expected[f"{repo_id}/feature_extractor/input_values"] = audio
            if model_class is not SocialMAEForPreTraining:
                scores = pipeline("video-classification", model=str(converted[name]))(clip, top_k=6)
                expected[f"{repo_id}/video_classification"] = torch.tensor([row["score"] for row in scores])
    return expected


@pytest.mark.slow
def test_pushed_repos_load_offline_with_and_without_the_package(pushed, converted, media, tmp_path):
    cache = tmp_path / "hub"
    for repo_id, files in pushed.items():
        write_hub_cache(cache, repo_id, files)
    inputs = {}
    for index, (repo_id, (name, _)) in enumerate(REPOS.items()):
        config = SocialMAEForPreTraining.config_class.from_pretrained(converted[name])
        x = tiny_inputs(config, batch=2, seed=index)
        generator = torch.Generator().manual_seed(index)
        x["audio_noise"] = torch.rand(2, config.num_audio_patches, generator=generator)
        x["video_noise"] = torch.rand(2, config.num_video_patches, generator=generator)
        inputs.update({f"{repo_id}/{k}": v for k, v in x.items()})
    save_file({**inputs, "waveform": WAVEFORM}, tmp_path / "inputs.safetensors")
    clip = str(media("c25.mp4"))
    expected = _expected(converted, inputs, clip)

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",  # tiny models: one thread is many times faster than two on small CPUs
        "HF_HUB_CACHE": str(cache),
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parents[1])]),
    }
    for mode, module in (("installed", "social_mae_hf."), ("blocked", "transformers_modules.")):
        job = {
            "repos": list(REPOS),
            "inputs": str(tmp_path / "inputs.safetensors"),
            "clip": clip,
            "outputs": str(tmp_path / f"{mode}.safetensors"),
            "classes": str(tmp_path / f"{mode}.json"),
        }
        (tmp_path / f"{mode}_job.json").write_text(json.dumps(job))
        run = subprocess.run(
            [sys.executable, str(SCRIPT), mode, str(tmp_path / f"{mode}_job.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        got = load_file(job["outputs"])
        assert set(got) == set(expected)
        for key, value in expected.items():
            torch.testing.assert_close(got[key], value, rtol=0, atol=1e-6, msg=f"{mode}: {key}")
        classes = json.loads(Path(job["classes"]).read_text())
        for repo_id, (_, model_class) in REPOS.items():
            config_class, encoder_class, head_class, processor_class, extractor_class, video_class = classes[repo_id]
            assert all(c.startswith(module) for c in classes[repo_id]), classes[repo_id]
            assert config_class.endswith(".SocialMAEConfig") and encoder_class.endswith(".SocialMAEModel")
            assert head_class.endswith("." + model_class.__name__)
            assert processor_class.endswith(".SocialMAEProcessor")
            assert extractor_class.endswith(".SocialMAEFeatureExtractor")
            assert video_class.endswith(".SocialMAEVideoProcessor")
