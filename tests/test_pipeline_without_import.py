"""`pipeline("audio-visual-classification", model=folder)` in an interpreter that never imported social_mae_hf: the
folder names its pipelines (`custom_pipelines`), so `trust_remote_code=True` works instead of a KeyError, and
leaving it out says to pass it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import pipeline

from social_mae_hf.modeling_social_mae import hub_custom_pipelines

SRC = Path(__file__).parents[1] / "src"

SCRIPT = """
import json, sys
if sys.argv[1] == "blocked":
    sys.modules["social_mae_hf"] = None  # the package is not installed
from transformers import pipeline
folder, clip, task, remote = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "remote"
assert "social_mae_hf" not in sys.modules or sys.modules["social_mae_hf"] is None
try:
    pipe = pipeline(task, model=folder, **({"trust_remote_code": True} if remote else {}))
    out = pipe(clip, **({"top_k": 3} if task == "audio-visual-classification" else {}))
    result = {"out": out, "model": type(pipe.model).__module__, "pipeline": type(pipe).__module__}
except Exception as error:
    result = {"error": type(error).__name__, "message": str(error)}
print(chr(10) + "RESULT " + json.dumps(result))  # transformers may have printed its trust_remote_code prompt
"""


def run_without_import(tmp_path, *args) -> dict:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": str(SRC),
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,  # transformers' trust_remote_code prompt gets no answer
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.rpartition("\nRESULT ")[2])


def test_saved_folders_name_their_pipelines(converted):
    config = json.loads((converted["social_mae_finetune"] / "config.json").read_text())
    assert config["custom_pipelines"] == hub_custom_pipelines()
    assert set(config["custom_pipelines"]) == {"audio-visual-classification", "audio-visual-feature-extraction"}
    assert (converted["social_mae_finetune"] / "pipeline_social_mae.py").is_file()


def test_classification_pipeline_without_importing_the_package(converted, media, tmp_path):
    folder, clip = converted["social_mae_finetune"], media("c25.mp4")
    got = run_without_import(tmp_path, "installed", folder, clip, "audio-visual-classification", "remote")
    assert "error" not in got, got
    assert got["pipeline"] == "social_mae_hf.pipelines.classification"  # the installed package's pipeline
    # Loading the pipeline class imported (and so registered) the package, and transformers prefers an explicitly
    # registered local class over a folder's code even with trust_remote_code=True: the installed model code.
    assert got["model"] == "social_mae_hf.modeling_social_mae"
    expected = pipeline("audio-visual-classification", model=str(folder))(str(clip), top_k=3)
    assert [row["label"] for row in got["out"]] == [row["label"] for row in expected]
    assert [row["score"] for row in got["out"]] == pytest.approx([row["score"] for row in expected], abs=1e-5)

    without = run_without_import(tmp_path, "installed", folder, clip, "audio-visual-classification", "local")
    assert without["error"] == "ValueError" and "trust_remote_code=True" in without["message"]


def test_feature_extraction_pipeline_without_importing_the_package(converted, media, tmp_path):
    folder, clip = converted["cav_mae_pretrain"], media("c25.mp4")
    got = run_without_import(tmp_path, "installed", folder, clip, "audio-visual-feature-extraction", "remote")
    assert "error" not in got, got
    expected = pipeline("audio-visual-feature-extraction", model=str(folder))(str(clip))
    for key, value in expected.items():
        torch.testing.assert_close(torch.tensor(got["out"][key]), torch.tensor(value), atol=1e-5, rtol=1e-5)


def test_pipelines_of_a_folder_without_the_package_or_a_head(converted, media, tmp_path):
    clip = media("c25.mp4")
    blocked = run_without_import(
        tmp_path, "blocked", converted["social_mae_finetune"], clip, "audio-visual-classification", "remote"
    )
    assert blocked["error"] == "ImportError" and "pip install social-mae-hf" in blocked["message"]
    no_head = run_without_import(
        tmp_path, "installed", converted["social_mae_pretrain"], clip, "audio-visual-classification", "remote"
    )
    assert (
        no_head["error"] == "ModelFilesError" and "no trained classification or regression head" in no_head["message"]
    )


def test_a_broken_install_is_not_reported_as_a_missing_package(monkeypatch):
    # The package is installed but its pipelines cannot be imported (here: blocked, as a missing dependency would
    # do): the error is that import's own, not the advice to install the package.
    import social_mae_hf
    from social_mae_hf import pipeline_social_mae

    monkeypatch.delattr(social_mae_hf, "pipelines", raising=False)
    monkeypatch.setitem(sys.modules, "social_mae_hf.pipelines", None)
    with pytest.raises(ImportError) as caught:
        pipeline_social_mae.AudioVisualClassificationPipeline  # noqa: B018
    assert caught.value.name == "social_mae_hf.pipelines"
    assert "pip install social-mae-hf" not in str(caught.value)
