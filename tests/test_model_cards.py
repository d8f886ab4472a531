"""Model cards: metadata, no unsourced numbers, and every code block runs against a converted tiny model (the
`trust_remote_code` ones in an interpreter where social_mae_hf cannot be imported)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from social_mae_hf.cli import main as cli_main
from social_mae_hf.conversion.publish import BASE_MODEL, CARDS, MODEL_CARDS, replace_repo_id

# Which converted tiny checkpoint stands in for each card's model.
STAND_IN = {
    "social-mae": "social_mae_pretrain",
    "social-mae-cremad": "social_mae_finetune",
    "social-mae-first-impressions": "social_mae_regression",
    "social-mae-ndc-me": "social_mae_finetune",
    "cav-mae": "cav_mae_pretrain",
}
# Every decimal number a card states, with where it comes from. A number not listed here fails the test: cards
# must not state numbers nobody can trace (results the originals' READMEs do not give are "see the paper").
SOURCED = {
    "-6.2943": "Social-MAE dataloader norm_mean (the feature extractor's preset)",
    "12.26344": "Social-MAE dataloader norm_std",
    "-5.081": "CAV-MAE dataset_mean (the feature extractor's preset)",
    "4.4849": "CAV-MAE dataset_std",
    "10.24": "1024 fbank frames of 10 ms",
    "0.01": "contrastive loss weight, the originals' README tables",
    "51.2": "CAV-MAE README: AudioSet-2M fine-tuned mAP",
    "42.0": "CAV-MAE README: AudioSet-20K fine-tuned mAP",
    "65.5": "CAV-MAE README: VGGSound fine-tuned accuracy",
    "65.9": "CAV-MAE README: VGGSound accuracy with additional VGGSound pretraining",
    "2508.17502": "the Social-MAE paper's arXiv id",
}
# The Social-MAE paper's Tables I-III (../shared/docs/paper-results.md), quoted as the paper's own figures.
PAPER = {
    "CREMA-D F1 micro/macro, Table I": ["0.601", "0.607", "0.749", "0.755", "0.837", "0.842", "0.766", "0.759"],
    "First Impressions 1 - MAE, Table II": ["0.908", "0.902", "0.895", "0.907", "0.905", "0.903", "0.899", "0.913"],
    "NDC-ME F1, Table III": ["0.546", "0.728", "0.776", "0.766"],
    "fine-tuning recipes": ["1.22"],
}
SOURCED |= {number: f"Social-MAE paper, {table}" for table, numbers in PAPER.items() for number in numbers}


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _for_stand_in(code: str, card: str, folder: Path) -> str:
    return replace_repo_id(code, CARDS[card].repo_id, str(folder))


def test_every_card_has_its_metadata():
    assert {p.stem for p in MODEL_CARDS.glob("*.md")} == set(CARDS) == set(STAND_IN)
    for name, spec in CARDS.items():
        text = (MODEL_CARDS / f"{name}.md").read_text()
        data = ModelCard(text).data
        assert data.library_name == "transformers" and data.license == "bsd-2-clause", name
        assert data.datasets and "audio-visual" in data.tags, name
        expected_tag = "feature-extraction" if spec.stage == "pretraining" else "video-classification"
        assert data.pipeline_tag == expected_tag, name
        if spec.stage == "finetuned":
            assert data.base_model == BASE_MODEL and data.metrics, name
            assert "was supplied when this repository was published" in " ".join(text.split())  # not in weights
        assert "## Citation" in text and "## License" in text and "see the paper" in text, name
        assert spec.repo_id in text, name


def test_cards_state_only_sourced_numbers():
    for name in CARDS:
        text = (MODEL_CARDS / f"{name}.md").read_text()
        prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        for number in re.findall(r"-?\d+\.\d+", prose):
            assert number in SOURCED, f"{name}: {number} has no recorded source"


@pytest.fixture()
def workdir(media, tmp_path, monkeypatch):
    shutil.copy(media("c25.mp4"), tmp_path / "video.mp4")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_card_code_runs_with_the_package(converted, workdir, capsys):
    for name in CARDS:
        text = (MODEL_CARDS / f"{name}.md").read_text()
        folder = converted[STAND_IN[name]]
        python = [b for b in _blocks(text, "python") if "trust_remote_code" not in b]
        assert len(python) >= 2, name
        for code in python:
            exec(compile(_for_stand_in(code, name, folder), f"{name}.md", "exec"), {"__name__": "__main__"})
        for block in _blocks(text, "bash"):
            for line in block.splitlines():
                if line.startswith("social-mae "):
                    assert cli_main(shlex.split(_for_stand_in(line, name, folder))[1:]) == 0, line
    assert (workdir / "reconstruction.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "SocialMAEForRegression" in printed and "LABEL_0" in printed


@pytest.mark.slow
def test_card_code_runs_without_the_package(converted, workdir):
    snippets = []
    for name in CARDS:
        blocks = [b for b in _blocks((MODEL_CARDS / f"{name}.md").read_text(), "python") if "trust_remote_code" in b]
        assert len(blocks) == 1, name
        snippets.append((name, _for_stand_in(blocks[0], name, converted[STAND_IN[name]])))
    (workdir / "snippets.json").write_text(json.dumps(snippets))
    script = (
        "import json, sys\n"
        "sys.modules['social_mae_hf'] = None  # the package cannot be imported\n"
        "for name, code in json.load(open('snippets.json')):\n"
        "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})\n"
        "    print('ran', name)\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(workdir / "modules"),
        "OMP_NUM_THREADS": "1",  # tiny models: one thread is many times faster than two on small CPUs
    }
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert [line for line in run.stdout.splitlines() if line.startswith("ran ")] == [f"ran {n}" for n in CARDS]
