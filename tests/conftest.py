"""Synthetic media shared by the tests, written once per session and only when a test asks for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from social_mae_hf import synthetic

# name -> write_clip / write_audio arguments. Small frames keep encoding and decoding fast.
CLIPS = {
    "c25.mp4": dict(duration_s=6.0, fps=25, width=64, height=48, audio="speech"),
    "c30.mp4": dict(duration_s=6.0, fps=30, width=64, height=48, audio="tone", tone_hz=660.0),
    "short.mp4": dict(duration_s=2.0, fps=25, width=64, height=48),
    "one_second.mp4": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.mkv": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.webm": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.avi": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.mov": dict(duration_s=1.0, fps=25, width=64, height=48),
    "noaudio.mp4": dict(duration_s=1.0, fps=25, width=64, height=48, audio=None),
    "stereo.mp4": dict(duration_s=1.0, fps=25, width=64, height=48, channels=2),
    "odd.mp4": dict(duration_s=1.0, fps=10, width=321, height=241),
    "gop.mp4": dict(duration_s=8.0, fps=25, width=64, height=48, gop_size=12),
    # Irregular presentation times (variable frame rate), ~22 fps on average.
    "vfr.mp4": dict(
        width=64,
        height=48,
        frame_times=np.round(np.cumsum(np.r_[0, np.random.default_rng(1).uniform(0.02, 0.07, 89)]), 4),
    ),
}
AUDIO_FILES = ("speech.wav", "speech.flac", "speech.mp3", "speech.ogg", "speech.m4a")


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """media(name) -> path of a synthetic clip or audio file, written on first use."""
    root = tmp_path_factory.mktemp("media")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            path = root / name
            if name in CLIPS:
                synthetic.write_clip(path, **CLIPS[name])
            elif name in AUDIO_FILES:
                synthetic.write_audio(path, speech_waveform())
            else:
                raise KeyError(name)
            cache[name] = path
        return cache[name]

    return get


def speech_waveform() -> np.ndarray:
    return synthetic.make_waveform(1.0, kind="speech", tone_hz=150.0, seed=3)
