"""A model folder of another model type never gets its code run by a command, whatever is answered to a prompt."""

import json

import pytest

from social_mae_hf.cli import main as cli_main


@pytest.fixture()
def evil_folder(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    code = f"open({str(marker)!r}, 'w').close()\nfrom transformers import PretrainedConfig\n"
    code += "class EvilConfig(PretrainedConfig):\n    model_type = 'evil-net'\n"
    (folder / "evil.py").write_text(code)
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps({"model_type": "evil-net", "auto_map": auto_map}))
    (folder / "processor_config.json").write_text(json.dumps({"auto_map": {"AutoProcessor": "evil.EvilProcessor"}}))
    return folder, marker


@pytest.mark.parametrize("command", ["predict", "embed", "reconstruct", "demo"])
def test_a_foreign_model_type_is_refused_before_its_code_can_run(
    evil_folder, media, tmp_path, monkeypatch, capsys, command
):
    folder, marker = evil_folder
    monkeypatch.setattr("builtins.input", lambda *_: "y")  # a user who says yes to transformers' prompt
    clip = str(media("c25.mp4"))
    argv = {
        "predict": ["predict", str(folder), clip, "--quiet"],
        "embed": ["embed", str(folder), clip, "--output", str(tmp_path / "e.safetensors"), "--quiet"],
        "reconstruct": ["reconstruct", str(folder), clip, "--output", str(tmp_path / "r.png")],
        "demo": ["demo", "--model", str(folder), "--video", clip],
    }[command]
    for trust in ([], ["--trust-remote-code"]):
        assert cli_main([*argv, *trust]) == 2
        err = capsys.readouterr().err
        assert "'evil-net'" in err and "not a Social-MAE / CAV-MAE" in err, err
        assert "trust_remote_code" not in err
        assert not marker.exists()
