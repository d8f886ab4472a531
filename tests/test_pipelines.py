"""`pipeline("audio-visual-classification")` / `pipeline("audio-visual-feature-extraction")`: the same numbers as the
processor and model called by hand, for every input kind, windows, batching; and clear errors. transformers' own
`pipeline("video-classification")` on a classification folder, video only."""

import shutil

import numpy as np
import pytest
import torch
from transformers import pipeline

from social_mae_hf import (
    InvalidInputError,
    MediaDecodeError,
    MediaFile,
    ModelFilesError,
    SocialMAEForAudioVisualClassification,
    SocialMAEForRegression,
    SocialMAEModel,
    SocialMAEProcessor,
    recall_at_k,
    similarity_matrix,
)
from social_mae_hf.pipelines.inputs import plan_windows
from social_mae_hf.retrieval import retrieval_ranks

CLASSIFY = "audio-visual-classification"
EMBED = "audio-visual-feature-extraction"


@pytest.fixture(scope="module")
def classifier(converted):
    return pipeline(CLASSIFY, model=str(converted["social_mae_finetune"]))


@pytest.fixture(scope="module")
def reference(converted):
    """logits(**processor kwargs) computed by hand with the converted classification folder."""
    folder = converted["social_mae_finetune"]
    model = SocialMAEForAudioVisualClassification.from_pretrained(folder).eval()
    processor = SocialMAEProcessor.from_pretrained(folder)

    def logits(**kwargs):
        with torch.no_grad():
            return model(**processor(**kwargs)).logits[0]

    return logits


def _scores(result):
    return {row["label"]: row["score"] for row in result}


def test_classification_of_a_file_is_softmax_top_k_of_the_model(classifier, reference, media):
    clip = str(media("c25.mp4"))
    probabilities = reference(videos=clip).softmax(-1)
    result = classifier(clip)
    assert len(result) == 5  # default top_k, of 6 labels
    assert [row["label"] for row in result] == [f"LABEL_{i}" for i in probabilities.argsort(descending=True)[:5]]
    np.testing.assert_allclose([row["score"] for row in result], probabilities.sort(descending=True).values[:5])
    assert len(classifier(clip, top_k=2)) == 2
    assert len(classifier(clip, top_k=50)) == 6
    raw = _scores(classifier(clip, top_k=6, function_to_apply="none"))
    logits = reference(videos=clip)
    np.testing.assert_allclose([raw[f"LABEL_{i}"] for i in range(6)], logits, rtol=1e-6)
    sigmoid = _scores(classifier(clip, top_k=6, function_to_apply="sigmoid"))
    np.testing.assert_allclose([sigmoid[f"LABEL_{i}"] for i in range(6)], logits.sigmoid(), rtol=1e-6)


def test_every_input_kind(classifier, reference, media):
    clip, wav = media("c25.mp4"), media("speech.wav")
    logits = reference(videos=str(clip)).softmax(-1)
    by_path = _scores(classifier(clip, top_k=6))  # a PathLike
    assert _scores(classifier(clip.read_bytes(), top_k=6)) == pytest.approx(by_path)
    np.testing.assert_allclose([by_path[f"LABEL_{i}"] for i in range(6)], logits, rtol=1e-6)

    # Decoded frames and a raw waveform, in a dict.
    with MediaFile(clip) as m:
        frames = m.read_frames_at([i / 25 for i in range(150)])
        waveform = m.read_audio(16000)[0]
    raw = {"video": frames, "video_fps": 25, "audio": waveform, "sampling_rate": 16000}
    expected = reference(videos=frames, video_fps=25, audio=waveform, sampling_rate=16000).softmax(-1)
    got = _scores(classifier(raw, top_k=6))
    np.testing.assert_allclose([got[f"LABEL_{i}"] for i in range(6)], expected, rtol=1e-5)

    # An audio file runs the model on audio alone; a video path can be asked for video only.
    audio_only = _scores(classifier(str(wav), top_k=6))
    np.testing.assert_allclose(
        [audio_only[f"LABEL_{i}"] for i in range(6)], reference(audio=str(wav)).softmax(-1), rtol=1e-6
    )
    video_only = _scores(classifier(str(clip), top_k=6, modalities="video"))
    expected = reference(videos=str(clip), modalities="video").softmax(-1)
    np.testing.assert_allclose([video_only[f"LABEL_{i}"] for i in range(6)], expected, rtol=1e-6)

    # A list gives a list, in order.
    results = classifier([str(clip), str(wav)], top_k=6)
    assert [_scores(r) for r in results] == [pytest.approx(by_path), pytest.approx(audio_only)]


def test_windows_give_a_timeline_of_each_window_s_prediction(classifier, reference, media):
    clip = str(media("c25.mp4"))  # 6 s
    timeline = classifier(clip, chunk_length_s=2, stride_length_s=1.5, top_k=6)
    assert [(w["start"], w["end"]) for w in timeline] == [(0, 2), (1.5, 3.5), (3, 5), (4, 6)]
    for window in timeline:
        expected = reference(videos=clip, start_s=window["start"], end_s=window["end"]).softmax(-1)
        got = _scores(window["scores"])
        np.testing.assert_allclose([got[f"LABEL_{i}"] for i in range(6)], expected, rtol=1e-5)
    # Windows see different content.
    assert _scores(timeline[0]["scores"]) != pytest.approx(_scores(timeline[-1]["scores"]))
    # A recording shorter than a window is one window.
    assert [(w["start"], w["end"]) for w in classifier(clip, chunk_length_s=10)] == [(0.0, 6.0)]


def test_windows_stay_where_every_modality_read_is(classifier, media, tmp_path, caplog):
    """An audio track that stops before the video (or runs on after it) bounds the windows of an audiovisual
    model, with a warning naming what is left out; asking for one modality covers all of it."""
    from test_media import tone, write_audio_tracks

    short_audio = str(
        write_audio_tracks(
            tmp_path / "a.mp4", [("aac", "mono", tone(300, 2.0)[None], None)], video=True, video_seconds=6
        )
    )
    with caplog.at_level("WARNING", logger="social_mae_hf.pipelines.base"):
        timeline = classifier(short_audio, chunk_length_s=1)
    assert timeline[-1]["end"] == pytest.approx(2.0, abs=0.1) and len(timeline) == 2
    assert "its audio lasts 2" in caplog.text and "its video 6" in caplog.text and "modalities='video'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="social_mae_hf.pipelines.base"):
        video_only = classifier(short_audio, chunk_length_s=1, modalities="video")
    assert video_only[-1]["end"] == pytest.approx(6.0, abs=0.1) and len(video_only) == 6 and not caplog.text
    long_audio = str(write_audio_tracks(tmp_path / "b.mp4", [("aac", "mono", tone(300, 3.0)[None], None)], video=True))
    assert [round(w["end"], 1) for w in classifier(long_audio, chunk_length_s=0.5)] == [0.5, 1.0]
    assert classifier(long_audio, chunk_length_s=0.5, modalities="audio")[-1]["end"] == pytest.approx(3.0, abs=0.1)
    # Raw parts: the shorter bounds the windows too.
    parts = {
        "video": np.zeros((50, 32, 32, 3), np.uint8),
        "video_fps": 25,
        "audio": tone(300, 3.0),
        "sampling_rate": 16000,
    }
    assert [(w["start"], w["end"]) for w in classifier(parts, chunk_length_s=1)] == [(0.0, 1.0), (1.0, 2.0)]


def test_plan_windows():
    assert plan_windows(10.0, 4, None, "x") == [(0.0, 4.0), (4.0, 8.0), (6.0, 10.0)]
    assert plan_windows(8.0, 4, 2, "x") == [(0.0, 4.0), (2.0, 6.0), (4.0, 8.0)]
    assert plan_windows(3.0, 4, 1, "x") == [(0.0, 3.0)]
    with pytest.raises(InvalidInputError, match="x: its length is unknown"):
        plan_windows(None, 4, None, "x")
    with pytest.raises(ValueError, match="`chunk_length_s` must be a positive number"):
        plan_windows(5.0, 0, None, "x")


def test_batching_gives_the_same_results(converted, media):
    clips = [str(media("c25.mp4")), str(media("c30.mp4")), str(media("c25.mp4"))]
    one = pipeline(CLASSIFY, model=str(converted["social_mae_finetune"]), device="cpu")
    assert one.device.type == "cpu"
    batched = pipeline(CLASSIFY, model=str(converted["social_mae_finetune"]), batch_size=2)
    for a, b in zip(one(clips, top_k=6), batched(clips, top_k=6)):
        assert _scores(a) == pytest.approx(_scores(b), abs=1e-5)
    a = one(clips[0], chunk_length_s=2, top_k=6)
    b = one(clips[0], chunk_length_s=2, top_k=6, batch_size=3)
    assert [(w["start"], _scores(w["scores"])) for w in a] == [
        (w["start"], pytest.approx(_scores(w["scores"]), abs=1e-5)) for w in b
    ]
    with pytest.raises(InvalidInputError, match="cannot batch inputs with different modalities"):
        batched([str(media("c25.mp4")), str(media("speech.wav"))])


def test_regression_returns_every_target(converted, media):
    folder = converted["social_mae_regression"]
    regressor = pipeline(CLASSIFY, model=str(folder))
    assert type(regressor.model) is SocialMAEForRegression
    clip = str(media("c25.mp4"))
    result = regressor(clip)
    model = SocialMAEForRegression.from_pretrained(folder).eval()
    with torch.no_grad():
        values = model(**SocialMAEProcessor.from_pretrained(folder)(videos=clip)).logits[0]
    assert [row["label"] for row in result] == [model.config.id2label[i] for i in range(6)]
    np.testing.assert_allclose([row["score"] for row in result], values, rtol=1e-6)
    with pytest.raises(ValueError, match="`top_k` does not apply to a regression model"):
        regressor(clip, top_k=2)
    with pytest.raises(ValueError, match="use function_to_apply='none'"):
        regressor(clip, function_to_apply="softmax")


def test_feature_extraction_pipeline(converted, media):
    folder = converted["social_mae_pretrain"]
    embed = pipeline(EMBED, model=str(folder))
    assert type(embed.model) is SocialMAEModel
    clip = str(media("c25.mp4"))
    out = embed(clip, return_tensors=True)
    features = SocialMAEProcessor.from_pretrained(folder)(videos=clip)
    with torch.no_grad():
        torch.testing.assert_close(
            out["audio_embedding"], embed.model.get_audio_features(features["input_values"]).pooler_output[0]
        )
        torch.testing.assert_close(
            out["video_embedding"], embed.model.get_video_features(features["pixel_values"]).pooler_output[0]
        )
        torch.testing.assert_close(out["fused_embedding"], embed.model(**features).pooler_output[0])
    as_lists = embed(clip)
    assert as_lists["audio_embedding"] == pytest.approx(out["audio_embedding"].tolist())
    assert set(embed(str(media("speech.wav")))) == {"audio_embedding"}
    timeline = embed(clip, chunk_length_s=3)
    assert [(w["start"], w["end"]) for w in timeline] == [(0, 3), (3, 6)]
    assert set(timeline[0]) == {"start", "end", "audio_embedding", "video_embedding", "fused_embedding"}
    # Any Social-MAE model works: a classification model's encoder is used.
    head = pipeline(
        EMBED, model=SocialMAEForAudioVisualClassification.from_pretrained(converted["social_mae_finetune"])
    )
    assert len(head(clip)["fused_embedding"]) == 32


def test_recall_at_k():
    audio = torch.eye(4)
    assert recall_at_k(audio, audio, ks=(1, 4)) == {
        "audio_to_video": {1: 1.0, 4: 1.0},
        "video_to_audio": {1: 1.0, 4: 1.0},
    }
    # Clips 0 and 1 have videos closer to each other's audio: each ranks its own second.
    audio = torch.eye(3)
    video = torch.tensor([[0.5, 1.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 1.0]])
    recall = recall_at_k(audio, video, ks=(1, 2))
    assert recall["audio_to_video"] == pytest.approx({1: 1 / 3, 2: 1.0})
    assert recall["video_to_audio"] == pytest.approx({1: 1 / 3, 2: 1.0})
    assert retrieval_ranks(similarity_matrix(audio, video)).tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="must pair up"):
        recall_at_k(torch.eye(3), torch.eye(4))
    with pytest.raises(ValueError, match="`ks` must be positive integers"):
        recall_at_k(audio, audio, ks=(0,))


def test_retrieval_on_pipeline_embeddings(converted, media):
    embed = pipeline(EMBED, model=str(converted["cav_mae_pretrain"]))
    clips = [str(media(name)) for name in ("c25.mp4", "c30.mp4", "stereo.mp4")]
    outs = embed(clips, return_tensors=True)
    audio = torch.stack([o["audio_embedding"] for o in outs])
    video = torch.stack([o["video_embedding"] for o in outs])
    recall = recall_at_k(audio, video, ks=(1, 3))
    assert recall["audio_to_video"][3] == recall["video_to_audio"][3] == 1.0
    assert all(0.0 <= r <= 1.0 for direction in recall.values() for r in direction.values())


def test_errors(converted, media, tmp_path, classifier):
    with pytest.raises(KeyError, match="Unknown task audio-visual-clasification"):
        pipeline("audio-visual-clasification", model=str(converted["social_mae_finetune"]))
    for task in (CLASSIFY, EMBED):  # no public checkpoint to default to (transformers: a bare KeyError 'default')
        with pytest.raises(ValueError, match=f"'{task}' has no default model: pass model="):
            pipeline(task)
    with pytest.raises(ValueError, match=r"social_mae_pretrain: was saved as SocialMAEForPreTraining, which has no"):
        pipeline(CLASSIFY, model=str(converted["social_mae_pretrain"]))
    with pytest.raises(ValueError, match="pipeline needs a model with a classification or regression head"):
        pipeline(CLASSIFY, model=SocialMAEModel.from_pretrained(converted["social_mae_pretrain"]))

    missing = tmp_path / "no_preprocessor"
    shutil.copytree(converted["social_mae_finetune"], missing)
    (missing / "processor_config.json").unlink()
    with pytest.raises(ModelFilesError, match=r"no_preprocessor: has no processor_config\.json"):
        pipeline(CLASSIFY, model=str(missing))
    # ... and with the processor passed in, it works.
    processor = SocialMAEProcessor.from_pretrained(converted["social_mae_finetune"])
    assert len(pipeline(CLASSIFY, model=str(missing), processor=processor)(str(media("c25.mp4")))) == 5
    with pytest.raises(ValueError, match=r"takes a SocialMAEProcessor .* as `processor=`, not `feature_extractor=`"):
        pipeline(CLASSIFY, model=str(missing), feature_extractor=processor.feature_extractor)

    corrupt = tmp_path / "corrupt"
    shutil.copytree(converted["social_mae_finetune"], corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not safetensors" * 10)
    with pytest.raises(ValueError, match=r"corrupt: its model\.safetensors is not a valid safetensors file"):
        pipeline(CLASSIFY, model=str(corrupt))

    with pytest.raises(ModelFilesError, match="the processor does not fit the model: num_frames=1"):
        pipeline(
            CLASSIFY,
            model=str(converted["social_mae_finetune"]),
            processor=SocialMAEProcessor.from_pretrained(converted["cav_mae_finetune"]),
        )

    text = tmp_path / "notes.txt"
    text.write_text("not a video\n" * 50)
    with pytest.raises(MediaDecodeError, match=r"notes\.txt: is a text file, not audio or video"):
        classifier(str(text))
    with pytest.raises(MediaDecodeError, match=r"missing\.mp4: no such file"):
        classifier(str(tmp_path / "missing.mp4"))
    with pytest.raises(InvalidInputError, match=r"the inputs are an empty list"):
        classifier([])
    with pytest.raises(InvalidInputError, match=r'pass raw audio as \{"audio": waveform'):
        classifier(np.zeros(16000, np.float32))
    with pytest.raises(InvalidInputError, match=r"unknown key\(s\) \['fps'\]"):
        classifier({"video": np.zeros((10, 32, 32, 3), np.uint8), "fps": 25})
    with pytest.raises(InvalidInputError, match='a raw "audio" waveform needs "sampling_rate"'):
        classifier({"audio": np.zeros(16000, np.float32)})
    with pytest.raises(ValueError, match="`stride_length_s` needs `chunk_length_s`"):
        classifier(str(media("c25.mp4")), stride_length_s=1)
    with pytest.raises(ValueError, match="`function_to_apply` must be one of"):
        classifier(str(media("c25.mp4")), function_to_apply="relu")
    with pytest.raises(ValueError, match="`top_k` must be a positive integer"):
        classifier(str(media("c25.mp4")), top_k=0)
    with pytest.raises(InvalidInputError, match=r"no audio track in the input \(.*noaudio\.mp4\)"):
        classifier(str(media("noaudio.mp4")))
    assert len(classifier(str(media("noaudio.mp4")), missing_audio="drop")) == 5


def test_transformers_video_classification_pipeline_runs_on_video_alone(converted, classifier, media):
    """The stock `pipeline("video-classification")` finds the folder's video processor and runs the head on the
    frames alone: the same scores as our pipeline with `modalities="video"`."""
    clip = str(media("c25.mp4"))
    video_classifier = pipeline("video-classification", model=str(converted["social_mae_finetune"]))
    assert type(video_classifier.model) is SocialMAEForAudioVisualClassification
    got = _scores(video_classifier(clip, top_k=6))
    assert got == pytest.approx(_scores(classifier(clip, top_k=6, modalities="video")), abs=1e-6)
    regressor = pipeline("video-classification", model=str(converted["social_mae_regression"]))
    assert type(regressor.model) is SocialMAEForRegression  # the saved architecture, not the first head
