"""PyAV decoding: containers, timestamps, variable frame rate, bytes vs paths, audio files, errors."""

from __future__ import annotations

import tracemalloc
import wave
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from conftest import CLIPS, speech_waveform

from social_mae_hf import (
    SocialMAEFeatureExtractor,
    SocialMAEProcessor,
    SocialMAEVideoProcessor,
    audio_reading,
    frame_reading,
    synthetic,
)
from social_mae_hf.errors import InvalidInputError, MediaDecodeError, MissingModalityError
from social_mae_hf.media import (
    CHANNEL_MIXES,
    SILENCE_THRESHOLD_DBFS,
    MediaFile,
    is_silent,
    mix_channels,
    peak_dbfs,
)
from social_mae_hf.synthetic import read_frame_counter

CONTAINERS = ["one_second.mp4", "one_second.mkv", "one_second.webm", "one_second.avi", "one_second.mov"]


@pytest.mark.parametrize("name", CONTAINERS)
def test_each_container_gives_every_frame_and_the_audio(media, name):
    with MediaFile(media(name)) as m:
        info = m.video_info()
        assert (info.width, info.height, info.fps) == (64, 48, 25)
        assert not info.average_rate  # a constant rate: OpenCV's rate and count
        # Like OpenCV: the header's count, else round(container duration x fps), which for Matroska
        # counts the audio's longer duration too (so it can exceed the real count, 25).
        expected = 25 if info.frame_count_known else int(np.floor(info.duration * 25 + 0.5))
        assert info.num_frames == expected
        frames = m.read_frames_at([Fraction(i, 25) for i in range(25)])
        audio = m.read_audio(16000)
    assert frames.shape == (25, 48, 64, 3) and frames.dtype == np.uint8
    assert [read_frame_counter(f) for f in frames] == list(range(25))
    assert audio.dtype == np.float32 and audio.shape[0] == 1
    assert abs(audio.shape[1] - 16000) <= 1100  # codec priming/padding differs per container
    assert 0.05 < np.abs(audio).max() <= 1.0


@pytest.mark.parametrize("name", ["one_second.mkv", "one_second.webm"])
def test_frame_count_estimated_when_the_header_lacks_it(media, name):
    with MediaFile(media(name)) as m:
        info = m.video_info()
        assert not info.frame_count_known
        assert info.num_frames == int(np.floor(info.duration * 25 + 0.5)) >= 25
        assert len(m.frame_times()) == 25  # the demux-only pass counts the real frames


def test_frames_are_picked_by_timestamp_after_a_seek(media):
    # 8 s clip with a key frame every 12 frames: reading late frames seeks, and must still land exactly.
    with MediaFile(media("gop.mp4")) as m:
        wanted = [151, 163, 175, 187, 199]
        frames = m.read_frames_at([Fraction(i, 25) for i in wanted])
        assert [read_frame_counter(f) for f in frames] == wanted
        # Out of order and repeated times come back in the order asked.
        frames = m.read_frames_at([Fraction(40, 25), Fraction(3, 25), Fraction(40, 25)])
        assert [read_frame_counter(f) for f in frames] == [40, 3, 40]


def test_time_between_frames_gives_the_nearest_and_past_the_end_the_last(media):
    with MediaFile(media("one_second.mp4")) as m:
        frames = m.read_frames_at([0.019, 0.021, 0.5, 7.0])
    assert [read_frame_counter(f) for f in frames] == [0, 1, 12, 24]


def test_variable_frame_rate(media):
    written = CLIPS["vfr.mp4"]["frame_times"]
    with MediaFile(media("vfr.mp4")) as m:
        times = [float(t) for t in m.frame_times()]
        np.testing.assert_allclose(times, written, atol=1 / 90000)
        frames = m.read_frames_at(written)
        assert [read_frame_counter(f) for f in frames] == list(range(len(written)))
        # A time 30% of the way from frame 10 to frame 11 is nearest to frame 10, 70% to frame 11.
        t10, t11 = written[10], written[11]
        frames = m.read_frames_at([t10 + 0.3 * (t11 - t10), t10 + 0.7 * (t11 - t10)])
        assert [read_frame_counter(f) for f in frames] == [10, 11]


# 100 frames whose times step by 1 to 4 sixtieths of a second (as a screen or phone recorder writes): the
# guessed rate is 60 fps, the average about 23.
VFR60_TIMES = np.cumsum(np.r_[0, np.random.default_rng(0).integers(1, 5, 99)]) / 60


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_spans_the_whole_clip(tmp_path, suffix):
    written = VFR60_TIMES
    path = synthetic.write_clip(tmp_path / f"vfr60{suffix}", width=64, height=64, frame_times=written, audio="tone")
    with MediaFile(path) as m:
        info = m.video_info()
        assert len(m.frame_times()) == 100
        # Frame i is shown at i / fps, and the last index reaches the end of the clip.
        assert (info.num_frames - 1) / info.fps <= written[-1] + 0.1
        assert info.num_frames / info.fps >= written[-1]
        assert info.duration == pytest.approx(float(info.num_frames / info.fps), abs=1.5 / float(info.fps))
        if suffix == ".mp4":  # the header's 100 frames at a guessed 60 fps -> the average rate over the duration
            assert m._video.guessed_rate == 60
            assert info.frame_count_known and info.num_frames == 100 and info.average_rate
            assert float(info.fps) == pytest.approx(100 / (written[-1] + 1 / 60), rel=0.02)
        times = [Fraction(i) / info.fps for i in range(info.num_frames)]
        frames = m.read_frames_at(times)
    counters = [read_frame_counter(f) for f in frames]
    # Each time gets the frame shown nearest to it (ties: the earlier one), over the whole clip.
    nearest = [int(np.argmin(np.abs(written - float(t)) + 1e-9 * np.arange(100))) for t in times]
    assert counters == nearest
    assert counters[0] == 0 and counters[-1] >= 97


def test_variable_frame_rate_windows_up_to_the_end(tmp_path):
    """What the pipelines' chunking asks (`--chunk-length-s 0.5`): every 0.5 s window of a VFR clip, up to the
    last one, gets frames shown inside it."""
    written = VFR60_TIMES
    path = synthetic.write_clip(tmp_path / "vfr60.mp4", width=64, height=64, frame_times=written, audio="tone")
    with MediaFile(path) as m:
        duration = m.duration
    assert duration > written[-1]
    windows = [(float(s), float(s) + 0.5) for s in np.arange(0, duration - 0.5, 0.5)] + [(duration - 0.5, duration)]
    # 64 x 64 frames at image_size 64, RGB, unnormalised: pixel_values are the frames / 255, counters readable.
    processor = SocialMAEProcessor(
        SocialMAEFeatureExtractor.social_mae(),
        SocialMAEVideoProcessor.social_mae(image_size=64, num_frames=2, channel_order="rgb", do_normalize=False),
    )
    gap = np.diff(written).max()
    for start, end in windows:
        pixels = processor(videos=str(path), modalities="video", start_s=start, end_s=end)["pixel_values"][0]
        frames = (pixels.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
        shown = written[[read_frame_counter(f) for f in frames]]
        assert np.all(shown >= start - gap) and np.all(shown < end + gap), (start, end, shown)
    assert shown.max() >= written[-1] - 0.5  # the last window reads the last half second


def test_bytes_equal_path(media):
    path = media("c25.mp4")
    times = [Fraction(i, 25) for i in (0, 30, 77, 149)]
    with MediaFile(path) as a, MediaFile(path.read_bytes()) as b:
        np.testing.assert_array_equal(a.read_audio(), b.read_audio())
        np.testing.assert_array_equal(a.read_frames_at(times), b.read_frames_at(times))
        assert a.video_info() == b.video_info()


def test_bgr_is_rgb_reversed(media):
    with MediaFile(media("one_second.mp4")) as m:
        rgb = m.read_frames_at([0.4], channel_order="rgb")
        bgr = m.read_frames_at([0.4], channel_order="bgr")
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])


@pytest.mark.parametrize("name", ["speech.wav", "speech.flac", "speech.mp3", "speech.ogg", "speech.m4a"])
def test_audio_files(media, name):
    original = speech_waveform()
    with MediaFile(media(name)) as m:
        assert m.has_audio and not m.has_video
        audio = m.read_audio(16000)
    assert audio.shape[0] == 1 and abs(audio.shape[1] - len(original)) <= 1100
    if name in ("speech.wav", "speech.flac"):  # lossless 16-bit: equal to 1 LSB
        np.testing.assert_allclose(audio[0, : len(original)], original, atol=1.01 / 32768)
    else:  # lossy: same signal up to codec delay; check the correlation at the best lag
        a, b = audio[0], original
        lags = range(0, 1100)
        best = max(np.corrcoef(a[lag : lag + 12000], b[:12000])[0, 1] for lag in lags)
        assert best > 0.9


def test_audio_is_resampled_to_the_requested_rate(media):
    with MediaFile(media("speech.ogg")) as m:  # Opus decodes at 48 kHz
        assert m._audio.sample_rate == 48000
        audio = m.read_audio(16000)
    assert abs(audio.shape[1] - 16000) <= 1100


def test_max_samples_stops_early_with_identical_samples(media):
    with MediaFile(media("c25.mp4")) as m:
        full = m.read_audio(16000)
    with MediaFile(media("c25.mp4")) as m:
        head = m.read_audio(16000, max_samples=20000)
    assert head.shape == (1, 20000)
    np.testing.assert_array_equal(head, full[:, :20000])


def test_stereo_keeps_channels(media):
    with MediaFile(media("stereo.mp4")) as m:
        audio = m.read_audio(16000)
    assert audio.shape[0] == 2
    # write_clip makes the right channel half the left one (AAC codes them jointly, not exactly).
    assert np.corrcoef(audio[0], audio[1])[0, 1] > 0.99
    assert np.std(audio[1]) / np.std(audio[0]) == pytest.approx(0.5, rel=0.05)


def test_audio_then_video_from_one_opening(media):
    path = media("c25.mp4")
    with MediaFile(path) as m:
        audio = m.read_audio()
        frames = m.read_frames_at([0, Fraction(1, 25)])  # window at 0 after the audio pass
        assert [read_frame_counter(f) for f in frames] == [0, 1]
        assert m._container is not None
    with MediaFile(path) as fresh:
        np.testing.assert_array_equal(fresh.read_audio(), audio)


def test_errors_name_the_input(media, tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(MediaDecodeError, match=r"nope\.mp4: no such file"):
        MediaFile(missing)
    with pytest.raises(MediaDecodeError, match="is a directory"):
        MediaFile(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("just some words, not a video\n" * 20)
    with pytest.raises(MediaDecodeError, match=r"notes\.txt: is a text file"):
        MediaFile(text)
    with pytest.raises(MediaDecodeError, match=r"notes\.dat: cannot be opened"):
        MediaFile(text.rename(tmp_path / "notes.dat"))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(media("one_second.mp4").read_bytes()[:3000])
    with pytest.raises(MediaDecodeError, match=r"truncated\.mp4"), MediaFile(truncated) as m:
        m.read_frames_at([0.0])
    with pytest.raises(MediaDecodeError, match="empty byte string"):
        MediaFile(b"")
    with (
        MediaFile(media("noaudio.mp4")) as m,
        pytest.raises(MissingModalityError, match=r"noaudio\.mp4: has no audio"),
    ):
        m.read_audio()
    with (
        MediaFile(media("speech.wav")) as m,
        pytest.raises(MissingModalityError, match="pass it as `audio=`"),
    ):
        m.video_info()


def test_skipping_non_reference_frames_keeps_wanted_frames_identical(media):
    # c25.mp4 has one key frame (x264's default interval is 250): reading frames 100.. skips the
    # non-reference frames before them; the frames must equal those of a full decode from frame 0.
    path = media("c25.mp4")
    wanted = [100, 101, 113, 149]
    with MediaFile(path) as m:
        every = m.read_frames_at([Fraction(i, 25) for i in range(150)])
    with MediaFile(path) as m:
        some = m.read_frames_at([Fraction(i, 25) for i in wanted])
    np.testing.assert_array_equal(some, every[wanted])
    assert [read_frame_counter(f) for f in some] == wanted


# -- display orientation (phones) ------------------------------------------------------------------------------


def upright_frames(count: int = 5, width: int = 320, height: int = 240) -> np.ndarray:
    """Frames as a viewer should see them: the counter bar code on top, a red block in the top-left and a green
    one in the top-right corner, so that any turn or mirror shows."""
    frames = synthetic.make_frames(count / 25, fps=25, width=width, height=height)
    frames[:, 10:40, :40] = (255, 0, 0)
    frames[:, 10:40, -40:] = (0, 255, 0)
    return frames


def write_oriented(path, upright, *, ccw=None, hflip=False, rotate_tag=None):
    """A clip, like a phone's, that stores `upright` frames turned and sets its display matrix (`ccw` degrees
    counter-clockwise then, when `hflip`, a left-right mirror: PyAV's convention) or its legacy `rotate` tag
    (clockwise degrees) so that players show them upright again."""
    if rotate_tag is not None:
        ccw = -rotate_tag
    stored = upright[:, :, ::-1] if hflip else upright
    stored = np.ascontiguousarray(np.rot90(stored, -(ccw or 0) // 90, axes=(1, 2)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = stored.shape[2], stored.shape[1], "yuv420p"
        stream.options = {"crf": "10"}
        if rotate_tag is not None:
            stream.metadata["rotate"] = str(rotate_tag)
        elif ccw is not None:
            stream.set_display_rotation(ccw, hflip=hflip)
        for i, image in enumerate(stored):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def assert_shown_upright(frames: np.ndarray, upright: np.ndarray) -> None:
    assert frames.shape == upright.shape
    assert np.abs(frames.astype(int) - upright).mean() < 3  # the same picture, up to coding noise
    w = frames.shape[2]
    red, green = frames[:, 15:35, 5:35].mean(axis=(1, 2)), frames[:, 15:35, w - 35 : w - 5].mean(axis=(1, 2))
    assert np.all(red[:, 0] > 200) and np.all(red[:, 1] < 60)  # red marker top-left
    assert np.all(green[:, 1] > 200) and np.all(green[:, 0] < 60)  # green marker top-right
    assert [read_frame_counter(f) for f in frames] == list(range(len(frames)))  # bar code on top


@pytest.mark.parametrize("ccw,hflip", [(0, False), (90, False), (180, False), (270, False), (90, True), (0, True)])
@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_frames_come_out_as_players_show_them(tmp_path, suffix, ccw, hflip):
    # A 320x240 stream turned by 90 or 270 degrees is shown 240 wide and 320 high.
    turned = ccw % 180 == 90
    upright = upright_frames(width=240, height=320) if turned else upright_frames()
    path = write_oriented(tmp_path / f"phone{suffix}", upright, ccw=ccw, hflip=hflip)
    with av.open(str(path)) as container:  # the file holds what we meant to write
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        first = next(container.decode(stream))
        assert (first.side_data.get("DISPLAYMATRIX") is not None) == (ccw != 0 or hflip)  # identity: none
        assert hflip or first.rotation % 360 == ccw
    with MediaFile(path) as m:
        info = m.video_info()
        frames = m.read_frames_at([Fraction(i, 25) for i in range(5)])
    assert (info.width, info.height) == ((240, 320) if turned else (320, 240))
    assert (info.rotation, info.mirrored) == (ccw, hflip)
    assert_shown_upright(frames, upright)


def test_legacy_rotate_tag_turns_clockwise(tmp_path):
    # Without a display matrix, a `rotate` tag (clockwise degrees, as old FFmpeg wrote and VLC/mpv read) counts.
    upright = upright_frames(width=240, height=320)
    path = write_oriented(tmp_path / "tagged.mkv", upright, rotate_tag=90)
    with MediaFile(path) as m:
        assert m._video.metadata["ROTATE"] == "90"
        info = m.video_info()
        frames = m.read_frames_at([Fraction(i, 25) for i in range(5)])
    assert (info.width, info.height, info.rotation) == (240, 320, 270)
    assert_shown_upright(frames, upright)


def test_processor_gets_upright_frames(tmp_path):
    upright = upright_frames(width=240, height=320)
    path = write_oriented(tmp_path / "phone.mp4", upright, ccw=270)
    seen = {}

    def record(metadata, num_frames):
        seen["size"] = (metadata.width, metadata.height)
        return np.arange(num_frames)

    processor = SocialMAEProcessor.social_mae(image_size=32, num_frames=2)
    from_file = processor(videos=str(path), modalities="video", sample_indices_fn=record)["pixel_values"]
    assert seen["size"] == (240, 320)
    with MediaFile(path) as m:
        rgb = m.read_frames_at([0.0, 0.04])
        np.testing.assert_array_equal(m.read_frames_at([0.0, 0.04], channel_order="bgr"), rgb[..., ::-1])
    assert_shown_upright(rgb, upright[:2])
    from_frames = processor(videos=rgb, video_fps=25, sample_indices_fn=lambda **_: np.arange(2))["pixel_values"]
    torch.testing.assert_close(from_file, from_frames, atol=0, rtol=0)  # the same frames, the same computation


# -- audio tracks and channels ---------------------------------------------------------------------------------


def write_audio_tracks(path, tracks, *, video: bool = False, rate: int = 16000, video_seconds: float = 1.0):
    """A file with one stream per (codec, layout, samples (channels, n), default flag or None) in `tracks`,
    after a video stream of `video_seconds` when `video`."""
    with av.open(str(path), "w") as container:
        if video:
            picture = container.add_stream("libx264", rate=25)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        streams = []
        for codec, layout, samples, default in tracks:
            stream = container.add_stream(codec, rate=rate, layout=layout)
            if default is not None:
                stream.disposition = av.stream.Disposition.default if default else av.stream.Disposition(0)
            streams.append((stream, samples, layout))
        if video:
            for i, image in enumerate(synthetic.make_frames(video_seconds, fps=25, width=64, height=48)):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                container.mux(picture.encode(frame))
            container.mux(picture.encode(None))
        for stream, samples, layout in streams:
            for start in range(0, samples.shape[1], 1024):
                part = np.ascontiguousarray(samples[:, start : start + 1024], np.float32)
                frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
                frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    return path


def tone(hz: float, seconds: float = 1.0, level: float = 0.1, rate: int = 16000) -> np.ndarray:
    return (level * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_the_default_audio_track_is_read_and_any_can_be_chosen(tmp_path, suffix):
    # A muted stereo track first, the voice second and flagged default: players (and we) play the voice.
    voice = speech_waveform()[None]
    muted = np.zeros((2, voice.shape[1]), np.float32)
    path = write_audio_tracks(
        tmp_path / f"tracks{suffix}", [("aac", "stereo", muted, False), ("aac", "mono", voice, True)], video=True
    )
    with MediaFile(path) as m:
        tracks = m.audio_tracks()
        assert [(t.index, t.layout, t.channels, t.default) for t in tracks] == [
            (0, "stereo", 2, False),
            (1, "mono", 1, True),
        ]
        assert m.audio_track == tracks[1]
        chosen = m.read_audio()
    assert chosen.shape[0] == 1 and not is_silent(chosen)
    best = max(np.corrcoef(chosen[0, lag : lag + 12000], voice[0, :12000])[0, 1] for lag in range(0, 1100, 1))
    assert best > 0.9
    with MediaFile(path, audio_stream=0) as m:
        assert m.audio_track.index == 0
        assert is_silent(m.read_audio()) and peak_dbfs(m.read_audio()) == float("-inf")
    with pytest.raises(
        InvalidInputError,
        match=r"tracks\.\w+: audio_stream=2, but it has 2 audio track\(s\): 0: stereo; 1: mono \(.*default\)",
    ):
        MediaFile(path, audio_stream=2)
    with pytest.raises(InvalidInputError, match="must be an int"):
        MediaFile(path, audio_stream="1")


def test_each_stream_has_its_own_length(tmp_path):
    """A video whose audio stops early (or runs on): each stream's length, not only the file's (the longest)."""
    short_audio = write_audio_tracks(
        tmp_path / "short_audio.mp4", [("aac", "mono", tone(300, 2.0)[None], None)], video=True, video_seconds=6.0
    )
    with MediaFile(short_audio) as m:
        lengths = m.stream_durations()
        assert m.duration == pytest.approx(6.0, abs=0.1)
    assert lengths.keys() == {"audio", "video"}
    assert lengths["audio"] == pytest.approx(2.0, abs=0.1) and lengths["video"] == pytest.approx(6.0, abs=0.1)
    long_audio = write_audio_tracks(tmp_path / "long_audio.mkv", [("flac", "mono", tone(300, 3.0)[None], None)])
    with MediaFile(long_audio) as m:
        assert m.stream_durations().keys() == {"audio"}
    with MediaFile(
        write_audio_tracks(tmp_path / "v.mp4", [("aac", "mono", tone(300, 3.0)[None], None)], video=True)
    ) as m:
        lengths = m.stream_durations()
    assert lengths["audio"] == pytest.approx(3.0, abs=0.1) and lengths["video"] == pytest.approx(1.0, abs=0.1)


def test_without_a_default_flag_the_first_track_is_read(tmp_path):
    path = write_audio_tracks(
        tmp_path / "tracks.mkv", [("flac", "mono", tone(300)[None], False), ("flac", "mono", tone(500)[None], False)]
    )
    with MediaFile(path) as m:
        assert m.audio_track.index == 0
        audio = m.read_audio()
    np.testing.assert_allclose(audio[0], tone(300), atol=1.01 / 32768)
    with MediaFile(path, audio_stream=1) as m:
        np.testing.assert_allclose(m.read_audio()[0], tone(500), atol=1.01 / 32768)


FIVE_ONE_WEIGHTS = np.array([0.5**0.5, 0.5**0.5, 1.0, 0.0, 0.5, 0.5]) / (2 + 2**0.5)  # FL FR FC LFE BL BR


@pytest.mark.parametrize("codec,suffix", [("pcm_f32le", ".wav"), ("flac", ".mkv"), ("aac", ".mp4")])
def test_five_one_with_the_voice_in_the_centre(tmp_path, codec, suffix):
    voice = speech_waveform()
    centre_only = np.zeros((6, len(voice)), np.float32)
    centre_only[2] = voice
    path = write_audio_tracks(tmp_path / f"centre{suffix}", [(codec, "5.1", centre_only, None)])
    with MediaFile(path) as m:
        track = m.audio_track
        assert (track.layout, track.channel_names) == ("5.1", ("FL", "FR", "FC", "LFE", "BL", "BR"))
        every = m.read_audio()
        first, mean, downmix = (m.read_audio(channel_mix=mix) for mix in ("first", "mean", "downmix"))
    assert every.shape[0] == 6 and first.shape[0] == mean.shape[0] == downmix.shape[0] == 1
    assert is_silent(first)  # front-left: what the originals' "first channel" hears
    assert not is_silent(mean) and not is_silent(downmix)
    centre = every[2:3]
    lossless = codec != "aac"
    tol = dict(atol=1e-6 if lossless else 1e-3, rtol=0)
    np.testing.assert_allclose(first, every[:1], atol=0)
    np.testing.assert_allclose(mean, centre / 6, **tol)
    np.testing.assert_allclose(downmix, centre * FIVE_ONE_WEIGHTS[2], **tol)  # 0.293: the centre weighs most
    if lossless:
        np.testing.assert_allclose(centre[0, : len(voice)], voice, atol=1.01 / 32768)


def test_downmix_weights_every_channel_as_ffmpeg_does(tmp_path):
    channels = np.stack([tone(hz) for hz in (300, 500, 700, 60, 900, 1100)])
    path = write_audio_tracks(tmp_path / "six.wav", [("pcm_f32le", "5.1", channels, None)])
    with MediaFile(path) as m:
        every = m.read_audio()
        downmix = m.read_audio(channel_mix="downmix")
        mean = m.read_audio(channel_mix="mean")
    np.testing.assert_allclose(every, channels, atol=0)  # float PCM: lossless
    np.testing.assert_allclose(downmix[0], FIVE_ONE_WEIGHTS @ channels, atol=1e-6, rtol=0)
    np.testing.assert_allclose(mean[0], channels.mean(axis=0), atol=1e-7, rtol=0)
    # Raw arrays get the same mixes (6 channels: FFmpeg's default 5.1 order).
    np.testing.assert_allclose(mix_channels(channels, "downmix"), downmix, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(mix_channels(channels, "mean"), mean)
    np.testing.assert_array_equal(mix_channels(channels, "first"), channels[:1])
    stereo = channels[:2]
    np.testing.assert_allclose(mix_channels(stereo, "downmix")[0], stereo.mean(axis=0), atol=1e-7, rtol=0)


def test_mixes_of_one_channel_are_that_channel(media):
    with MediaFile(media("speech.wav")) as m:
        plain = m.read_audio()
        for mix in CHANNEL_MIXES:
            np.testing.assert_array_equal(m.read_audio(channel_mix=mix), plain)
        with pytest.raises(ValueError, match="channel_mix must be one of"):
            m.read_audio(channel_mix="left")
    # Stereo "first" is exactly the first channel of the unmixed read (the originals' choice).
    with MediaFile(media("stereo.mp4")) as m:
        np.testing.assert_array_equal(m.read_audio(channel_mix="first"), m.read_audio()[:1])


def test_silence_check():
    assert is_silent(np.zeros((2, 16000), np.float32)) and is_silent(np.zeros((1, 0), np.float32))
    assert is_silent(1e-4 * np.ones(100))  # -80 dBFS: noise floor
    assert not is_silent(tone(440, level=0.01))  # -40 dBFS: quiet, but there
    assert peak_dbfs(tone(440, level=0.5)) == pytest.approx(-6.02, abs=0.01)
    assert SILENCE_THRESHOLD_DBFS == -60.0


# -- memory: decode what is used, hold what is returned --------------------------------------------------------


@pytest.fixture(scope="module")
def ten_minute_wav(tmp_path_factory):
    """10 minutes of 16 kHz mono noise (19 MB), written a minute at a time."""
    path = tmp_path_factory.mktemp("long") / "ten_minutes.wav"
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        for _ in range(10):
            out.writeframes((3000 * rng.standard_normal(60 * 16000)).astype("<i2").tobytes())
    return path


def test_a_window_of_a_long_file_decodes_only_the_window(ten_minute_wav, monkeypatch):
    window = 164080  # what 1024 fbank frames use (10.25 s)
    decoded = []
    original = MediaFile._decode_audio

    def counting(self, *args):
        samples, offset = original(self, *args)
        decoded.append(samples.shape[1])
        return samples, offset

    monkeypatch.setattr(MediaFile, "_decode_audio", counting)
    with MediaFile(ten_minute_wav) as m:
        head = m.read_audio(16000, max_samples=window)
        middle = m.read_audio(16000, start_s=300, max_samples=window)
        end = m.read_audio(16000, start_s=590)
    assert head.shape == middle.shape == (1, window) and end.shape == (1, 160000)
    # The window, plus the seek margin (0.5 s) and the last packet: never the 9.6 million samples of the file.
    assert decoded[0] <= window + 4096 and decoded[1] <= window + 8000 + 4096 and decoded[2] <= 160000 + 8000 + 4096


def test_reading_a_whole_track_holds_it_once(ten_minute_wav):
    # Chunks go straight into one array sized from the stream's duration: no list of chunks plus their
    # concatenation (twice the track) at the peak.
    tracemalloc.start()
    try:
        with MediaFile(ten_minute_wav) as m:
            audio = m.read_audio(16000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert audio.shape == (1, 600 * 16000) and audio.flags.c_contiguous
    assert peak < 1.2 * audio.nbytes


def test_samples_buffer_grows_past_a_short_estimate():
    rng = np.random.default_rng(0)
    chunks = [rng.standard_normal((2, n)).astype(np.float32) for n in (5, 700, 1, 300)]
    samples = audio_reading._Samples(capacity=10)
    for chunk in chunks:
        samples.append(chunk)
    out = samples.array(2)
    np.testing.assert_array_equal(out, np.concatenate(chunks, axis=1))
    assert out.flags.c_contiguous
    assert audio_reading._Samples(100).array(3).shape == (3, 0)


def test_frames_are_converted_as_soon_as_chosen(media, monkeypatch):
    """A chosen frame becomes an array when the next frame shows it is the nearest, not after the last one
    (decoded 4K frames are 12 MB each: holding every chosen one until the end is what this avoids)."""
    decoded, converted = [], []
    decode, convert = MediaFile._decode_skipping, frame_reading._to_array

    def counting_decode(*args):
        for frame in decode(*args):
            decoded.append(frame.pts)
            yield frame

    def counting_convert(frame, fmt):
        converted.append((frame.pts, len(decoded)))
        return convert(frame, fmt)

    monkeypatch.setattr(MediaFile, "_decode_skipping", staticmethod(counting_decode))
    monkeypatch.setattr(frame_reading, "_to_array", counting_convert)
    wanted = [3, 40, 40, 41, 100]
    with MediaFile(media("c25.mp4")) as m:
        frames = m.read_frames_at([Fraction(i, 25) for i in wanted] + [9.0])  # 9 s: past the end, the last frame
        pts_per_frame = m._video.time_base**-1 / 25
    assert [read_frame_counter(f) for f in frames] == [*wanted, 149]
    assert len(converted) == 5  # each distinct frame once (3, 40, 41, 100, 149)
    for pts, decoded_by_then in converted[:4]:
        index = decoded.index(pts)
        assert decoded_by_then <= index + 2, (pts / pts_per_frame, decoded_by_then)  # frame i + 1 decides


def test_transform_keeps_only_its_results(media):
    calls = []

    def shrink(frame):
        calls.append(frame.shape)
        return frame[::8, ::8].astype(np.float32) / 255

    times = [Fraction(i, 25) for i in (151, 163, 163, 40)] + [30.0]  # a repeat, out of order, past the end
    with MediaFile(media("gop.mp4")) as m:
        full = m.read_frames_at(times, channel_order="bgr")
        small = m.read_frames_at(times, channel_order="bgr", transform=shrink)
        assert m.read_frames_at([], transform=shrink) == []
    assert isinstance(small, list) and len(small) == 5
    assert calls == [(48, 64, 3)] * 4  # once per distinct frame: 40, 151, 163, the last (199)
    for got, frame in zip(small, full):
        np.testing.assert_array_equal(got, frame[::8, ::8].astype(np.float32) / 255)
    assert small[1] is small[2]
