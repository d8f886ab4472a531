"""`social-mae manifest`: each dataset layout read from a small fake tree of real media files under the real names.

Checks the splits (speaker-disjoint, official ones kept), the labels, the audio pairing, the refusal of wrong
layouts and of pickles that ask for code, and atomic writing. `test_manifests_training.py` trains on them.
"""

import csv
import os
import pickle
import struct
from pathlib import Path

import av
import pytest

from social_mae_hf.cli import main as cli_main
from social_mae_hf.manifests import (
    DatasetLayoutError,
    UnsafePickleError,
    load_plain_pickle,
    read_crema_d,
    read_first_impressions,
    read_folders,
    read_social_mae_layout,
    read_voxceleb2,
    summarize,
    write_manifests,
)
from social_mae_hf.manifests import writer as writer_module
from social_mae_hf.synthetic import make_waveform, write_audio, write_clip

CLIP = dict(duration_s=1.0, fps=8, width=32, height=32)
TRAITS = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]


# ---- making the trees -------------------------------------------------------------------------------------------


def clip(path: Path, *, sound: bool = True, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_clip(path, audio="tone" if sound else None, tone_hz=300 + 40 * seed, seed=seed, **CLIP)


def sound(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(path, make_waveform(1.0, sample_rate=16000, kind="tone", tone_hz=300 + 40 * seed, seed=seed))


def flv(path: Path, seed: int = 0) -> Path:
    """A Flash Video file (H.264 + AAC in FLV, as CREMA-D's VideoFlash/ holds): an mp4 remuxed."""
    mp4 = clip(path.with_suffix(".tmp.mp4"), seed=seed)
    with av.open(str(mp4)) as source, av.open(str(path), "w", format="flv") as target:
        streams = {s.index: target.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
    mp4.unlink()
    return path


def py2_text(value: str | bytes) -> bytes:
    data = value.encode("latin1") if isinstance(value, str) else value
    return b"U" + bytes([len(data)]) + data  # SHORT_BINSTRING: Python 2's str


def py2_numpy_float64(value: float) -> bytes:
    """`numpy.float64(value)` as Python 2's cPickle (protocol 2) writes it: a call of numpy's `scalar` on a dtype
    and the number's 8 raw bytes."""
    return b"".join(
        [
            b"cnumpy.core.multiarray\nscalar\n",  # GLOBAL
            b"cnumpy\ndtype\n" + py2_text("f8") + b"K\x00K\x01\x87R",  # dtype('f8', 0, 1): TUPLE3, REDUCE
            b"(K\x03" + py2_text("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb",  # its state: BUILD
            py2_text(struct.pack("<d", value)) + b"\x86R",  # scalar(dtype, raw bytes): TUPLE2, REDUCE
        ]
    )


def python2_pickle(path: Path, annotations: dict[str, dict[str, float]], *, numpy_scores: bool = False) -> Path:
    """`{trait: {clip: score}}` as Python 2's cPickle (protocol 2) writes it: byte strings, and the scores as binary
    floats or as numpy float64 scalars."""
    out = [b"\x80\x02", b"}", b"("]  # PROTO 2, EMPTY_DICT, MARK
    for trait, scores in annotations.items():
        out += [py2_text(trait), b"}", b"("]
        for name, score in scores.items():
            number = py2_numpy_float64(score) if numpy_scores else b"G" + struct.pack(">d", score)  # BINFLOAT
            out += [py2_text(name), number]
        out.append(b"u")  # SETITEMS
    out += [b"u", b"."]
    path.write_bytes(b"".join(out))
    return path


EMOTION_CODES = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]


@pytest.fixture(scope="module")
def crema_d(tmp_path_factory) -> Path:
    """10 actors x 2 clips in VideoFlash/ + AudioWAV/, one WAV without its video, two files that are no clips."""
    root = tmp_path_factory.mktemp("CREMA-D")
    for actor in range(1001, 1011):
        for k, sentence in enumerate(["DFA", "IEO"]):
            stem = f"{actor}_{sentence}_{EMOTION_CODES[(actor + k) % 6]}_{['XX', 'HI'][k]}"
            flv(root / "VideoFlash" / f"{stem}.flv", seed=actor + k)
            sound(root / "AudioWAV" / f"{stem}.wav", seed=actor + k)
    sound(root / "AudioWAV" / "1011_DFA_ANG_XX.wav")
    (root / "VideoFlash" / "._1001_DFA_ANG_XX.flv").write_bytes(b"\x00\x05\x16\x07")  # macOS resource fork
    (root / "VideoFlash" / "1010_TIE_SAD_XX.flv").write_bytes(b"")  # an empty download
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def written(table, tmp_path) -> dict[str, list[dict[str, str]]]:
    paths = write_manifests(table, tmp_path / "manifests")
    return {split: read_csv(path) for split, path in paths.items()}


# ---- CREMA-D ----------------------------------------------------------------------------------------------------


def test_crema_d_splits_actors_and_names_the_emotions(crema_d, tmp_path):
    table = read_crema_d(crema_d)
    rows = written(table, tmp_path)
    assert [len(rows[s]) for s in ("train", "validation", "test")] == [16, 2, 2]  # 8 / 1 / 1 actors
    actors = {split: {row["speaker"] for row in split_rows} for split, split_rows in rows.items()}
    assert not actors["train"] & actors["validation"] and not actors["train"] & actors["test"]
    assert not actors["validation"] & actors["test"]
    assert len(set().union(*actors.values())) == 10
    first = next(row for split_rows in rows.values() for row in split_rows if row["speaker"] == "1001")
    assert first == {
        "video": f"{os.path.relpath(crema_d, tmp_path / 'manifests')}/VideoFlash/1001_DFA_SAD_XX.flv",
        "label": "sadness",
        "speaker": "1001",
        "sentence": "DFA",
        "level": "XX",
    }
    labels = {row["label"] for split_rows in rows.values() for row in split_rows}
    assert labels == {"anger", "disgust", "fear", "happiness", "neutral", "sadness"}
    # Paths are relative to the CSV and open.
    for row in rows["test"]:
        with av.open(str(tmp_path / "manifests" / row["video"])) as container:
            assert container.streams.video and container.streams.audio
    left_out = dict(table.left_out)
    assert "empty file" in left_out[str(crema_d / "VideoFlash" / "1010_TIE_SAD_XX.flv")]
    assert "not a CREMA-D clip name" in left_out[str(crema_d / "VideoFlash" / "._1001_DFA_ANG_XX.flv")]
    assert (tmp_path / "manifests" / "left_out.txt").read_text().count("\n") == 2
    # The seed decides which actors; the same seed the same split.
    assert read_crema_d(crema_d).splits == table.splits
    other = read_crema_d(crema_d, seed=1, ratios="0.6,0.2,0.2")
    assert [len(other.splits[s]) for s in ("train", "validation", "test")] == [12, 4, 4]


def test_crema_d_separate_wav_files(crema_d, tmp_path):
    table = read_crema_d(crema_d, audio="wav")
    rows = written(table, tmp_path)
    assert table.training_flags() == ["--audio_column", "audio", "--task", "classification"]
    for row in (row for split_rows in rows.values() for row in split_rows):
        assert Path(row["audio"]).name == Path(row["video"]).stem + ".wav"
        assert Path(row["audio"]).parent.name == "AudioWAV"
    assert (
        "no VideoFlash/1011_DFA_ANG_XX.flv" in dict(table.left_out)[str(crema_d / "AudioWAV" / "1011_DFA_ANG_XX.wav")]
    )


def test_crema_d_refuses_other_layouts(crema_d, tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"no AudioWAV/ or VideoFlash/ folder: is this CREMA-D\?.*holds x.mp4"):
        clip(tmp_path / "x.mp4")
        read_crema_d(tmp_path)
    with pytest.raises(DatasetLayoutError, match=r"expected a VideoMP4/ folder; found VideoFlash/"):
        read_crema_d(crema_d, video="mp4")
    with pytest.raises(DatasetLayoutError, match=r"2 CREMA-D actors: too few for 3 split"):
        small = tmp_path / "small"
        for actor in (1001, 1002):
            clip(small / "VideoMP4" / f"{actor}_DFA_ANG_XX.mp4")
        read_crema_d(small, ratios="0.2,0.4,0.4")


# ---- First Impressions -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_impressions(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("first_impressions")
    folders = {"train": "train/training80_01", "validation": "validation/validation80_01", "test": "test/test80_01"}
    files = {
        "train": "annotation_training.pkl",
        "validation": "annotation_validation.pkl",
        "test": "annotation_test.pkl",
    }
    for s, (split, folder) in enumerate(folders.items()):
        names = [f"vid{s}{k}AbCdEf.00{k}.mp4" for k in range(3 if split == "train" else 2)]
        for k, name in enumerate(names):
            clip(root / folder / name, seed=10 * s + k)
        annotated = names + (["gone0000000.001.mp4"] if split == "test" else [])
        scores = {
            trait: {name: round(0.1 + 0.1 * t + 0.01 * k, 6) for k, name in enumerate(annotated)}
            for t, trait in enumerate([*TRAITS, "interview"])
        }
        python2_pickle(root / files[split], scores, numpy_scores=split != "train")
    clip(root / "train" / "training80_01" / "stray0000000.000.mp4")
    return root


def test_first_impressions_keeps_the_official_splits_and_trait_order(first_impressions, tmp_path):
    table = read_first_impressions(first_impressions, interview=True)
    rows = written(table, tmp_path)
    assert [len(rows[s]) for s in ("train", "validation", "test")] == [3, 2, 2]
    assert list(rows["train"][0]) == ["video", "youtube_id", *TRAITS, "interview"]
    assert {Path(r["video"]).parts[-3] for r in rows["validation"]} == {"validation"}
    assert {Path(r["video"]).parts[-3] for r in rows["test"]} == {"test"}
    second = rows["train"][1]
    assert second["youtube_id"] == "vid01AbCdEf"
    assert [float(second[t]) for t in [*TRAITS, "interview"]] == pytest.approx([0.11, 0.21, 0.31, 0.41, 0.51, 0.61])
    assert [rows["validation"][1][t] for t in TRAITS] == ["0.11", "0.21", "0.31", "0.41", "0.51"]  # numpy scores
    assert table.training_flags() == ["--task", "regression", "--target_columns", ",".join(TRAITS)]
    left_out = dict(table.left_out)
    assert (
        "no annotation file names this clip"
        in left_out[str(first_impressions / "train/training80_01/stray0000000.000.mp4")]
    )
    assert "annotated in annotation_test.pkl but no such clip" in left_out["gone0000000.001.mp4"]
    assert "interview" not in read_first_impressions(first_impressions).columns


def test_first_impressions_refuses_other_layouts(crema_d, first_impressions, tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"no annotation_training.pkl .* is this ChaLearn First Impressions"):
        read_first_impressions(crema_d)
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "annotation_training.pkl").write_bytes((first_impressions / "annotation_training.pkl").read_bytes())
    with pytest.raises(DatasetLayoutError, match=r"annotation_validation.pkl, annotation_test.pkl not found"):
        read_first_impressions(partial)


class _Shell:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["os.system", "class", "set_of_a_class"])
def test_annotation_pickles_that_ask_for_code_are_refused_and_nothing_runs(payload, first_impressions, tmp_path):
    marker = tmp_path / "ran"
    if payload == "os.system":
        shell = _Shell()
        shell.marker = marker
        data = pickle.dumps({"openness": shell}, protocol=2)
    elif payload == "class":
        from collections import OrderedDict

        data = pickle.dumps({"openness": OrderedDict(a=1.0)}, protocol=4)
    else:
        data = pickle.dumps({"openness": {"a": 1.0}, "x": {_Shell}}, protocol=0)
    tree = tmp_path / "fi"
    tree.mkdir()
    for name in ("annotation_training.pkl", "annotation_validation.pkl"):
        (tree / name).write_bytes((first_impressions / name).read_bytes())
    (tree / "annotation_test.pkl").write_bytes(data)
    with pytest.raises(UnsafePickleError, match=r"annotation_test.pkl: the pickle asks for .*nothing in it ran"):
        read_first_impressions(tree)
    assert not marker.exists()
    assert cli_main(["manifest", "first-impressions", str(tree), str(tmp_path / "out")]) == 2
    assert not marker.exists() and not (tmp_path / "out" / "train.csv").exists()


def test_numpy_scores_are_read_as_numpy_would_without_numpy(tmp_path):
    import numpy

    data = b"\x80\x02]q\x00(" + py2_numpy_float64(0.5420560747663551) + py2_numpy_float64(-3.25) + b"e."
    trusted = pickle.loads(data, encoding="latin1")  # our own bytes: numpy's reading, to compare with
    assert [type(v) for v in trusted] == [numpy.float64] * 2
    path = tmp_path / "scores.pkl"
    path.write_bytes(data)
    loaded = load_plain_pickle(path)
    assert loaded == [float(v) for v in trusted] == [0.5420560747663551, -3.25]
    assert [type(v) for v in loaded] == [float, float]
    # An array, or a numpy type that is not a plain number, is refused.
    path.write_bytes(pickle.dumps(numpy.zeros(2), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"asks for numpy\._?core\.multiarray\._reconstruct"):
        load_plain_pickle(path)
    path.write_bytes(data.replace(py2_text("f8"), py2_text("O8")))
    with pytest.raises(UnsafePickleError, match="'O8' in the pickle is not a plain number type"):
        load_plain_pickle(path)


def test_plain_pickles_are_read():
    path = Path(__file__).parent / "_plain.pkl"
    try:
        value = {"a": [1, 2.5, "x", (True, None)], "b": {1, 2}, "c": b"raw"}
        path.write_bytes(pickle.dumps(value, protocol=5))
        assert load_plain_pickle(path) == value
        path.write_bytes(b"not a pickle")
        with pytest.raises(ValueError, match="not a readable pickle"):
            load_plain_pickle(path)
    finally:
        path.unlink(missing_ok=True)


# ---- VoxCeleb2 ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def voxceleb2(tmp_path_factory) -> Path:
    """dev/: 4 speakers x 2 clips (video without sound + m4a), one video and one sound unpaired; test/: 1 speaker."""
    root = tmp_path_factory.mktemp("voxceleb2")
    for part, speakers in (("dev", ["id00012", "id00015", "id00017", "id00019"]), ("test", ["id00500"])):
        for s, speaker in enumerate(speakers):
            for k in range(2):
                key = f"{speaker}/vid{s}Yt_{k % 2}/{k + 1:05d}"
                clip(root / part / "mp4" / f"{key}.mp4", sound=False, seed=s + k)
                sound(root / part / "aac" / f"{key}.m4a", seed=s + k)
    clip(root / "dev/mp4/id00012/lonelyVideo/00009.mp4", sound=False)
    sound(root / "dev/aac/id00015/lonelySound/00003.m4a")
    return root


def test_voxceleb2_pairs_by_relative_path_and_holds_out_speakers(voxceleb2, tmp_path):
    table = read_voxceleb2(voxceleb2, validation_speakers=1, seed=3)
    rows = written(table, tmp_path)
    assert [len(rows[s]) for s in ("train", "validation", "test")] == [6, 2, 2]
    train_speakers = {r["speaker"] for r in rows["train"]}
    assert len(train_speakers) == 3 and not train_speakers & {r["speaker"] for r in rows["validation"]}
    assert {r["speaker"] for r in rows["test"]} == {"id00500"}
    for row in (r for split_rows in rows.values() for r in split_rows):
        video, audio = Path(row["video"]), Path(row["audio"])
        assert video.with_suffix("").parts[-3:] == audio.with_suffix("").parts[-3:]
        assert video.parts[-4] == "mp4" and audio.parts[-4] == "aac" and audio.suffix == ".m4a"
    assert table.training_flags() == ["--audio_column", "audio"]
    unpaired = {path: why for path, why in table.left_out if why.startswith("unpaired")}
    assert unpaired == {
        str(voxceleb2 / "dev/mp4/id00012/lonelyVideo/00009.mp4"): "unpaired: no dev/aac/id00012/lonelyVideo/00009.m4a",
        str(voxceleb2 / "dev/aac/id00015/lonelySound/00003.m4a"): "unpaired: no dev/mp4/id00015/lonelySound/00003.mp4",
    }
    assert "unpaired files: {'dev': 2}" in summarize(table)
    assert read_voxceleb2(voxceleb2).splits["validation"] == []


def test_voxceleb2_refuses_other_layouts(voxceleb2, crema_d):
    with pytest.raises(DatasetLayoutError, match=r"no dev/mp4/ and dev/aac/ folders: is this VoxCeleb2\?"):
        read_voxceleb2(crema_d)
    with pytest.raises(DatasetLayoutError, match="looks like the dev/ folder itself"):
        read_voxceleb2(voxceleb2 / "dev")
    with pytest.raises(DatasetLayoutError, match="dev/ has 4 speaker"):
        read_voxceleb2(voxceleb2, validation_speakers=4)


# ---- the original code's layout, and class folders ----------------------------------------------------------------


@pytest.fixture(scope="module")
def original_layout(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("original")
    for split in ("train", "test"):
        for c, label in enumerate(["sad", "happy"]):
            for k in range(2 if split == "train" else 1):
                key = f"{split}/{label}/url{c}{k}/x"
                clip(root / "video" / f"{key}.mp4", seed=c + k)
                sound(root / "audio" / f"{key}.wav", seed=c + k)
    clip(root / "video/train/happy/url99/x.mp4")
    return root


def test_social_mae_layout_pairs_video_and_audio_and_takes_the_class_folders(original_layout, tmp_path):
    table = read_social_mae_layout(original_layout)
    rows = written(table, tmp_path)
    assert [len(rows[s]) for s in ("train", "validation", "test")] == [4, 0, 2]
    assert sorted(r["label"] for r in rows["train"]) == ["happy", "happy", "sad", "sad"]
    for row in rows["train"] + rows["test"]:
        assert Path(row["video"]).parts[-4:-1] == Path(row["audio"]).parts[-4:-1]
        assert Path(row["video"]).parts[-3] == row["label"] and Path(row["video"]).parts[-2] == row["url"]
    assert [why for _, why in table.left_out] == ["unpaired: no audio/train/happy/url99/x.* sound file"]
    summary = summarize(table)
    assert "train: 4 clips; happy 2, sad 2" in summary


def test_social_mae_layout_refuses_other_layouts(original_layout, crema_d, tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"no video/ and audio/ folders: is this the original Social-MAE"):
        read_social_mae_layout(crema_d)
    tree = tmp_path / "odd"
    clip(tree / "video/holdout/happy/u/x.mp4")
    (tree / "audio").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"split folder\(s\) \['holdout'\] are none of"):
        read_social_mae_layout(tree)


@pytest.fixture(scope="module")
def class_folders(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("folders")
    for c, label in enumerate(["happy", "sad"]):
        for k in range(5):
            clip(root / label / f"clip{k}.mp4", seed=c * 5 + k)
    (root / "README.txt").write_text("class folders")
    return root


def test_folders_split_each_class_by_ratio_or_take_split_folders(class_folders, tmp_path):
    table = read_folders(class_folders, ratios="0.6,0.2,0.2", seed=0)
    rows = written(table, tmp_path)
    for split, count in (("train", 3), ("validation", 1), ("test", 1)):
        assert sorted(r["label"] for r in rows[split]) == sorted(["happy", "sad"] * count), split
    every = [r["video"] for split_rows in rows.values() for r in split_rows]
    assert len(every) == len(set(every)) == 10
    assert table.left_out == [(str(class_folders / "README.txt"), "not in a class folder")]
    assert read_folders(class_folders, ratios="0.6,0.2,0.2", seed=1).splits != table.splits
    # Split folders are kept as they are.
    tree = tmp_path / "split"
    for split, label in (("train", "happy"), ("train", "sad"), ("validation", "sad"), ("test", "happy")):
        clip(tree / split / label / "a.mp4")
    split_rows = read_folders(tree).splits
    assert [[r["label"] for r in split_rows[s]] for s in ("train", "validation", "test")] == [
        ["happy", "sad"], ["sad"], ["happy"]
    ]  # fmt: skip
    with pytest.raises(DatasetLayoutError, match=r"split folder\(s\) \['train'\] and other folder\(s\) \['extra'\]"):
        clip(tmp_path / "mixed/train/happy/a.mp4")
        clip(tmp_path / "mixed/extra/a.mp4")
        read_folders(tmp_path / "mixed")


def test_media_paths_keep_the_names_of_symbolic_links(class_folders, tmp_path):
    """A dataset of links (as a download cache makes them) keeps the links' names, relative to the CSV."""
    for label in ("happy", "sad"):
        (tmp_path / "links" / label).mkdir(parents=True)
        for k in range(5):
            (tmp_path / "links" / label / f"link{k}.mp4").symlink_to(class_folders / label / f"clip{k}.mp4")
    rows = written(read_folders(tmp_path / "links", ratios="0.6,0.2,0.2"), tmp_path)
    videos = [r["video"] for split_rows in rows.values() for r in split_rows]
    assert all(v.startswith("../links/") and Path(v).name.startswith("link") for v in videos), videos


def test_folders_of_sound_files_make_an_audio_manifest(tmp_path):
    for label in ("laugh", "smile"):
        for k in range(3):
            sound(tmp_path / "src" / label / f"{k}.wav", seed=k)
    table = read_folders(tmp_path / "src", ratios="0.34,0.33,0.33")
    assert table.columns == ["audio", "label"]
    assert table.training_flags() == ["--video_column", "none", "--audio_column", "audio", "--task", "classification"]
    with pytest.raises(DatasetLayoutError, match="no media file in a class folder"):
        (tmp_path / "empty" / "happy").mkdir(parents=True)
        read_folders(tmp_path / "empty")


# ---- writing and the command ---------------------------------------------------------------------------------------


def test_an_interrupted_write_leaves_no_half_manifest(class_folders, tmp_path, monkeypatch):
    out = tmp_path / "out"
    table = read_folders(class_folders, ratios="0.6,0.2,0.2")
    write_manifests(table, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []
    original = writer_module._relative

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 5:  # in the middle of validation.csv
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(writer_module, "_relative", interrupted)
    other = read_folders(class_folders, ratios="0.6,0.2,0.2", seed=5)
    with pytest.raises(KeyboardInterrupt):
        write_manifests(other, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing replaced, no temporary left
    with pytest.raises(KeyboardInterrupt):
        calls.clear()
        write_manifests(other, tmp_path / "fresh")
    assert list((tmp_path / "fresh").iterdir()) == []
    with pytest.raises(DatasetLayoutError, match=r"already exist.*--overwrite"):
        write_manifests(table, out)


def test_manifest_command(crema_d, voxceleb2, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli_main(["manifest", "crema-d", str(crema_d), str(out), "--audio", "wav", "--seed", "2"]) == 0
    printed = capsys.readouterr().out
    assert "train: 16 clips; 8 speakers; " in printed and "validation: 2 clips; 1 speakers" in printed
    assert "2 file(s) left out" not in printed and "3 file(s) left out (all in left_out.txt)" in printed
    assert f"--train_file {out / 'train.csv'}" in printed and "--audio_column audio" in printed
    assert sorted(p.name for p in out.iterdir()) == ["left_out.txt", "test.csv", "train.csv", "validation.csv"]
    assert cli_main(["manifest", "crema-d", str(crema_d), str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert cli_main(["manifest", "voxceleb2", str(crema_d), str(out), "--audio", "wav"]) == 2
    assert "--audio is for crema-d, not voxceleb2" in capsys.readouterr().err
    assert cli_main(["manifest", "voxceleb2", str(crema_d), str(tmp_path / "o2")]) == 2
    assert "is this VoxCeleb2?" in capsys.readouterr().err
    # No validation speakers: an empty validation.csv, which the printed command leaves out.
    assert cli_main(["manifest", "voxceleb2", str(voxceleb2), str(tmp_path / "vox")]) == 0
    printed = capsys.readouterr().out
    assert "validation: 0 clips; 0 speakers" in printed and "unpaired files: {'dev': 2}" in printed
    vox = tmp_path / "vox"
    assert (
        f"train with: python examples/run_pretrain.py --train_file {vox / 'train.csv'} --audio_column audio" in printed
    )
