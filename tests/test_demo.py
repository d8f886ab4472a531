"""`social-mae demo`: README's first command works offline, with the embedded default and with converted folders."""

import pytest
import torch

from social_mae_hf.cli import main as cli_main
from social_mae_hf.cli.demo import CREMA_D_EMOTIONS, run_demo


def test_demo_with_the_embedded_default(tmp_path, capsys):
    assert cli_main(["demo", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "talking_face.mp4").stat().st_size > 10_000
    assert "input_values  (1, 1024, 128)" in printed
    assert "pixel_values  (1, 8, 3, 224, 224)" in printed
    assert "audiovisual   1296 tokens" in printed
    assert "random weights: meaningless" in printed
    assert sum(emotion in printed for emotion in CREMA_D_EMOTIONS) == 3
    assert torch.is_grad_enabled()  # the demo must not switch autograd off for its caller


def test_demo_with_converted_folders(converted, media, capsys):
    clip = str(media("c25.mp4"))
    results = run_demo(model=str(converted["social_mae_finetune"]), video=clip, top_k=6)
    assert results["features"] == {"input_values": (1, 64, 128), "pixel_values": (1, 8, 3, 32, 32)}
    assert len(results["top"]) == 6
    assert abs(sum(score for _, score in results["top"]) - 1.0) < 1e-5
    assert "meaningless" not in capsys.readouterr().out
    results = run_demo(model=str(converted["cav_mae_pretrain"]), video=clip)
    assert results["features"]["pixel_values"] == (1, 1, 3, 32, 32)
    assert results["reconstruction"] > 0
    results = run_demo(model=str(converted["social_mae_regression"]), video=clip)
    assert len(results["targets"]) == 6


def test_demo_top_k_must_be_positive(capsys):
    """`--top-k 0` would print an empty list and `-1` a torch traceback: argparse's usage error instead."""
    for value in ("0", "-1"):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["demo", "--top-k", value])
        assert exit_info.value.code == 2
        assert f"argument --top-k: expected a whole number >= 1, got '{value}'" in capsys.readouterr().err
