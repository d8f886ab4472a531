"""Long recordings on the command line: progress per window, each window's result on disk as soon as it is computed
(a stopped or killed run leaves them in OUTPUT.partial), windows of several files batched into one forward with the
results of batch 1, and `embed` timelines like `predict`'s."""

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

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


def _windows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _scores(window: dict) -> dict[str, float]:
    return {row["label"]: row["score"] for row in window["scores"]}


def test_windows_of_several_files_share_a_forward_with_batch_1_results(converted, media, capsys, monkeypatch):
    from social_mae_hf import SocialMAEForAudioVisualClassification

    model = str(converted["social_mae_finetune"])
    clips = [str(media(name)) for name in ("c25.mp4", "short.mp4", "c30.mp4")]
    args = ["predict", model, *clips, "--chunk-length-s", "2", "--format", "jsonl", "--top-k", "6", "--quiet"]
    sizes = []
    forward = SocialMAEForAudioVisualClassification.forward

    def counted(self, *a, **k):
        sizes.append(len(k["input_values"]))
        return forward(self, *a, **k)

    monkeypatch.setattr(SocialMAEForAudioVisualClassification, "forward", counted)
    assert cli_main(args) == 0
    one_by_one = _windows(capsys.readouterr().out)
    assert sizes == [1] * 7  # 3 + 1 + 3 windows
    sizes.clear()
    assert cli_main([*args, "--batch-size", "8"]) == 0
    batched = _windows(capsys.readouterr().out)
    assert sizes == [7]  # every window of the three files in one forward
    assert [(w["file"], w["start"], w["end"]) for w in batched] == [
        (w["file"], w["start"], w["end"]) for w in one_by_one
    ]
    for alone, together in zip(one_by_one, batched):
        assert _scores(together) == pytest.approx(_scores(alone), abs=1e-5)


def test_an_interrupted_predict_keeps_every_window_it_finished(converted, media, tmp_path, monkeypatch):
    """Windows are on disk (OUTPUT.partial) as each is computed, not when their file is done."""
    from social_mae_hf import SocialMAEForAudioVisualClassification

    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    output = tmp_path / "out.jsonl"
    args = ["predict", model, clip, "--chunk-length-s", "1", "--format", "jsonl", "--quiet", "--output", str(output)]
    assert cli_main(args) == 0
    complete = _windows(output.read_text())
    assert len(complete) == 6
    forward, calls = SocialMAEForAudioVisualClassification.forward, []

    def stopped_at_the_fourth(self, *a, **k):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C while the fourth window runs
        return forward(self, *a, **k)

    monkeypatch.setattr(SocialMAEForAudioVisualClassification, "forward", stopped_at_the_fourth)
    output.unlink()
    with pytest.raises(KeyboardInterrupt):
        cli_main(args)
    partial = _windows((tmp_path / "out.jsonl.partial").read_text())
    assert [(w["start"], w["end"]) for w in partial] == [(w["start"], w["end"]) for w in complete[:3]]
    assert [_scores(w) for w in partial] == [pytest.approx(_scores(w), abs=1e-6) for w in complete[:3]]
    assert not output.exists()


_SLOW_PREDICT = """
import sys, time
from social_mae_hf import SocialMAEForAudioVisualClassification
from social_mae_hf.cli import main
forward = SocialMAEForAudioVisualClassification.forward
def slow(self, *a, **k):
    time.sleep(0.3)
    return forward(self, *a, **k)
SocialMAEForAudioVisualClassification.forward = slow
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_predict_leaves_its_windows_in_partial(converted, media, tmp_path):
    """SIGKILL (no clean-up at all) after two windows: the lines written are whole and on disk."""
    model, clip = str(converted["social_mae_finetune"]), str(media("gop.mp4"))  # 8 s: 16 windows of 0.5 s
    output = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial"
    argv = ["predict", model, clip, "--chunk-length-s", "0.5", "--format", "csv", "--quiet", "--output", str(output)]
    process = subprocess.Popen([sys.executable, "-c", _SLOW_PREDICT, *argv], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (partial.exists() and len(partial.read_text().splitlines()) >= 3):  # the header and 2 windows
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no window was written in 120 s"
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    rows = list(csv.DictReader(partial.read_text().splitlines()))
    assert 2 <= len(rows) < 16 and not output.exists()
    assert [float(row["start"]) for row in rows] == [0.5 * i for i in range(len(rows))]
    assert all(row["predicted_label"].startswith("LABEL_") and float(row["score_LABEL_0"]) > 0 for row in rows)


def test_a_group_run_again_file_by_file_writes_each_window_once(converted, media, tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(media("c25.mp4"), folder / "a.mp4")
    (folder / "b.mp4").write_bytes(b"\0not a video" * 100)
    shutil.copy(media("short.mp4"), folder / "c.mp4")
    args = ["predict", str(converted["social_mae_finetune"]), str(folder), "--chunk-length-s", "2"]
    assert cli_main([*args, "--format", "jsonl", "--batch-size", "4", "--quiet"]) == 1
    captured = capsys.readouterr()
    windows = [(Path(w["file"]).name, w["start"]) for w in _windows(captured.out)]
    assert windows == [("a.mp4", 0), ("a.mp4", 2), ("a.mp4", 4), ("c.mp4", 0)]
    assert "1 of 3 file(s) failed" in captured.err and "b.mp4" in captured.err


def test_an_output_that_cannot_be_written_stops_the_run_and_blames_no_file(converted, media):
    """A write fails inside the forward pass (where each window is written): it is the output's error, not a bad
    input file to skip."""
    import io

    from social_mae_hf.cli.predict import run_predict

    class Full(io.StringIO):
        def flush(self):
            raise OSError(28, "No space left on device")

    clips = [str(media("c25.mp4")), str(media("short.mp4"))]
    with pytest.raises(OSError, match="No space left"):
        run_predict(str(converted["social_mae_finetune"]), clips, output=Full(), progress=False, batch_size=2)
