"""`social-mae publish`: a verified folder with its card; nothing waits on the network; uploads what it verified."""

import http.server
import json
import os
import socket
import threading
import time
from types import SimpleNamespace

import pytest
from conftest import REFERENCE, TINY_HEADS

from social_mae_hf import SocialMAEForAudioVisualClassification
from social_mae_hf.cli import main as cli_main
from social_mae_hf.conversion import publish as publish_module
from social_mae_hf.conversion.convert import convert_checkpoint
from social_mae_hf.conversion.publish import CARDS, card_text, publish, replace_repo_id, verify_folder
from social_mae_hf.hub import hub_reachable

FINETUNE = REFERENCE / "social_mae_finetune_tiny.pth"
PRETRAIN = REFERENCE / "social_mae_pretrain_tiny.pth"
TINY = {"num_attention_heads": 4, "decoder_num_attention_heads": 4}
EMOTIONS = "anger,disgust,fear,happy,neutral,sad"


def _never_called(*args, **kwargs):
    raise AssertionError("the network must not be touched")


def test_dry_run_builds_a_verified_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(publish_module, "hub_reachable", _never_called)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)  # the default Hub, which the messages below name
    folder = tmp_path / "out"
    args = ["publish", str(FINETUNE), "--card", "social-mae-cremad", "--repo-id", "me/my-cremad"]
    assert cli_main([*args, "--id2label", EMOTIONS, "--output-dir", str(folder), "--dry-run", *TINY_HEADS]) == 0
    printed = capsys.readouterr().out
    assert "verified: SocialMAEForAudioVisualClassification reloads with identical logits" in printed
    assert f"not uploading (--dry-run); would upload {folder} to https://huggingface.co/me/my-cremad" in printed
    names = {p.name for p in folder.iterdir()}
    assert {"README.md", "config.json", "model.safetensors", "processor_config.json"} <= names
    assert {"modeling_social_mae.py", "configuration_social_mae.py", "feature_extraction_social_mae.py"} <= names
    for name in names:
        assert f"  {name} " in printed  # every file is listed
    readme = (folder / "README.md").read_text()
    assert 'model="me/my-cremad"' in readme and "social-mae-hf/social-mae-cremad" not in readme
    assert "base_model: social-mae-hf/social-mae\n" in readme  # the pretrained model keeps its id
    config = json.loads((folder / "config.json").read_text())
    assert list(config["id2label"].values()) == EMOTIONS.split(",")
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o666 & ~umask}  # model.safetensors too


def test_publish_names_the_hub_it_would_upload_to(tmp_path, monkeypatch):
    # HF_ENDPOINT points huggingface_hub (and the reachability check) at another Hub: the messages must name it.
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.org/")
    printed = []
    publish(PRETRAIN, "social-mae", output_dir=tmp_path / "a", dry_run=True, log=printed.append, **TINY)
    target = "https://hub.example.org/social-mae-hf/social-mae"
    assert f"not uploading (--dry-run); would upload {tmp_path / 'a'} to {target}:" in printed


def test_offline_and_unreachable_hub_do_not_upload(tmp_path, monkeypatch):
    monkeypatch.setattr(publish_module, "HfApi", _never_called)
    monkeypatch.setattr(publish_module, "hub_reachable", _never_called)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = publish(PRETRAIN, "social-mae", output_dir=tmp_path / "a", log=lambda _: None, **TINY)
    assert not result.uploaded and result.reason == "HF_HUB_OFFLINE is set"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(publish_module, "hub_reachable", lambda timeout: False)
    result = publish(PRETRAIN, "social-mae", output_dir=tmp_path / "b", log=lambda _: None, **TINY)
    assert not result.uploaded and result.reason == "the Hub did not answer within 3 s"
    assert ("model.safetensors", (tmp_path / "b" / "model.safetensors").stat().st_size) in result.files


def test_upload_sends_the_verified_folder(tmp_path, monkeypatch):
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))
            return SimpleNamespace(commit_url="https://huggingface.co/me/x/commit/abc")

    monkeypatch.setattr(publish_module, "HfApi", FakeApi)
    monkeypatch.setattr(publish_module, "hub_reachable", lambda timeout: True)
    result = publish(
        FINETUNE,
        "social-mae-first-impressions",
        repo_id="me/x",
        output_dir=tmp_path / "fi",
        id2label="openness,conscientiousness,extraversion,agreeableness,neuroticism,interview",
        private=True,
        log=lambda _: None,
        **TINY,
    )
    assert result.uploaded and result.commit_url.endswith("/commit/abc")
    assert calls[0] == ("create_repo", "me/x", {"private": True, "exist_ok": True})
    assert calls[1][1]["folder_path"] == str(tmp_path / "fi") and calls[1][1]["repo_id"] == "me/x"
    assert json.loads((tmp_path / "fi" / "config.json").read_text())["architectures"] == ["SocialMAEForRegression"]


def test_publish_errors(tmp_path):
    quiet = {"log": lambda _: None, **TINY}
    with pytest.raises(ValueError, match="unknown model card 'nope'"):
        publish(FINETUNE, "nope", **quiet)
    with pytest.raises(ValueError, match="label names and order the original does not record: pass --id2label"):
        publish(FINETUNE, "social-mae-cremad", output_dir=tmp_path / "a", **quiet)
    with pytest.raises(
        ValueError, match="is a social-mae pretraining checkpoint, but card 'cav-mae' describes a cav-mae"
    ):
        publish(PRETRAIN, "cav-mae", output_dir=tmp_path / "b", **quiet)
    with pytest.raises(ValueError, match="must look like 'organisation/name'"):
        publish(PRETRAIN, "social-mae", repo_id="no-organisation", **quiet)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="full: is not empty"):
        publish(PRETRAIN, "social-mae", output_dir=tmp_path / "full", **quiet)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"notes\.txt: is a file, not a folder to publish into"):
        publish(PRETRAIN, "social-mae", output_dir=tmp_path / "notes.txt", **quiet)


def test_verification_catches_a_folder_that_does_not_reload_identically(tmp_path):
    model = convert_checkpoint(FINETUNE, None, **TINY)
    other = SocialMAEForAudioVisualClassification(model.config)  # same shapes, other weights
    other.save_pretrained(tmp_path)
    (tmp_path / "README.md").write_text(card_text(CARDS["social-mae-cremad"], "me/x"))
    with pytest.raises(ValueError, match="after reloading, `logits` differs by up to"):
        verify_folder(model, tmp_path)


def test_hub_reachable_never_hangs(monkeypatch):
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert not hub_reachable(timeout=2)  # a server error is not a Hub to upload to

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server.RequestHandlerClass = Ok
    assert hub_reachable(timeout=2)
    server.shutdown()
    server.server_close()
    assert not hub_reachable(timeout=2)  # refused
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    start = time.monotonic()
    assert not hub_reachable(timeout=0.3)
    assert time.monotonic() - start < 1.0
    silent.close()


def test_replace_repo_id_leaves_longer_ids_alone():
    text = "social-mae-hf/social-mae and social-mae-hf/social-mae-cremad, social-mae-hf/social-mae."
    assert replace_repo_id(text, "social-mae-hf/social-mae", "x/y") == "x/y and social-mae-hf/social-mae-cremad, x/y."
