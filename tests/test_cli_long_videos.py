"""Long recordings on the command line: progress per window, results on disk as each file is done (a stopped run
leaves them in OUTPUT.partial), and `embed` timelines like `predict`'s."""

import json
import shutil

import pytest
import torch
from safetensors import safe_open
from transformers import pipeline

from social_mae_hf.cli import main as cli_main


def test_predict_shows_progress_per_window(converted, media, capsys):
    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    assert cli_main(["predict", model, clip, "--chunk-length-s", "2", "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["start"] for line in captured.out.splitlines()] == [0, 2, 4]  # a line per window
    assert "3window" in captured.err.replace(" ", "") and "1/1" in captured.err


def test_a_stopped_predict_leaves_its_finished_files_in_partial(converted, media, tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(media("c25.mp4"), folder / "a.mp4")
    (folder / "b.mp4").write_bytes(b"\0not a video" * 100)
    output = tmp_path / "out.jsonl"
    output.write_text("earlier\n")
    args = ["predict", str(converted["social_mae_finetune"]), str(folder), "--format", "jsonl", "--quiet"]
    assert cli_main([*args, "--output", str(output), "--on-error", "abort"]) == 2
    assert output.read_text() == "earlier\n"
    partial = tmp_path / "out.jsonl.partial"
    assert [json.loads(line)["file"] for line in partial.read_text().splitlines()] == [str(folder / "a.mp4")]
    assert f"the results written before the run stopped are in {partial}" in capsys.readouterr().err
    assert cli_main([*args, "--output", str(output)]) == 1  # b.mp4 skipped: the run ends with results
    assert json.loads(output.read_text())["file"] == str(folder / "a.mp4") and not partial.exists()


@pytest.mark.parametrize("batch_size", ["1", "4"])
def test_embed_timeline(converted, media, tmp_path, capsys, batch_size):
    model = str(converted["social_mae_finetune"])
    clips = [str(media("c25.mp4")), str(media("c30.mp4"))]
    out = tmp_path / "e.safetensors"
    args = ["embed", model, *clips, "--output", str(out), "--chunk-length-s", "3", "--stride-length-s", "2"]
    assert cli_main([*args, "--batch-size", batch_size, "--quiet"]) == 0
    expected = pipeline("audio-visual-feature-extraction", model=model)(
        clips, chunk_length_s=3, stride_length_s=2, return_tensors=True
    )
    windows = [w for timeline in expected for w in timeline]
    with safe_open(out, "pt") as stored:
        assert stored.get_tensor("window_file").tolist() == [i for i, t in enumerate(expected) for _ in t]
        assert stored.get_tensor("window_start_s").tolist() == [w["start"] for w in windows]
        assert stored.get_tensor("window_end_s").tolist() == [w["end"] for w in windows]
        fused = stored.get_tensor("fused_embedding")
        assert fused.shape[0] == len(windows) > 2
        torch.testing.assert_close(fused, torch.stack([w["fused_embedding"] for w in windows]))
        assert json.loads(stored.metadata()["files"]) == clips
