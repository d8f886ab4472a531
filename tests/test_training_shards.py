"""Shards that cannot mislead a run: `social-mae shard` writes its index last and atomically, a folder is read
through its index only and each shard is checked against it, damaged members are named, and only media from the
manifest's own tree are packed, with paths relative to it."""

import csv
import io
import json
import os
import shutil
import tarfile

import numpy as np
import pytest
import torch
from conftest import TRAIN_OVERRIDES

from social_mae_hf import SocialMAEProcessor
from social_mae_hf.cli import main as cli_main
from social_mae_hf.shards import reader as shards_module
from social_mae_hf.shards.precomputed import FBANK_MEMBER, precomputed_inputs
from social_mae_hf.shards.reader import iter_shard_samples, open_shards
from social_mae_hf.training import ManifestError
from social_mae_hf.training.model_init import fresh_config


@pytest.fixture
def data(synthetic_set, tmp_path):
    """A manifest of 12 clips in its own folder (the media copied under it)."""
    source = synthetic_set("classification")["train"]
    folder = tmp_path / "data"
    (folder / "train").mkdir(parents=True)
    rows = list(csv.DictReader(source.open()))[:12]
    for row in rows:
        shutil.copy(source.parent / row["video"], folder / row["video"])
    manifest = folder / "clips.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["video", "label"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def shard(manifest, out, *extra) -> int:
    return cli_main(["shard", str(out), "--train-file", str(manifest), "--quiet", "--no-shuffle", *extra])


def test_a_folder_whose_index_is_missing_or_incomplete_is_refused(data, tmp_path):
    out = tmp_path / "shards"
    assert shard(data, out, "--clips-per-shard", "4") == 0
    folder = out / "train"
    index = json.loads((folder / "index.json").read_text())
    assert index["num_samples"] == 12 and all(len(entry["sha256"]) == 64 for entry in index["shards"])
    assert not list(folder.glob(".*tmp"))  # the index was written to a temporary name, then moved
    assert open_shards(str(folder)).num_samples == 12
    # A run killed before its index: the shards it finished are not read as the set.
    (folder / "index.json").unlink()
    with pytest.raises(ManifestError, match=r"no index\.json in that folder"):
        open_shards(str(folder))
    # An index whose shard list does not add up to its clip count.
    (folder / "index.json").write_text(json.dumps({**index, "num_samples": 16}))
    with pytest.raises(ManifestError, match="incomplete index: its shards hold 12 samples, it says 16"):
        open_shards(str(folder))


def test_a_rerun_with_other_shard_sizes_replaces_the_old_shards_or_is_refused(data, tmp_path):
    out = tmp_path / "shards"
    assert shard(data, out, "--clips-per-shard", "4") == 0
    (out / "train" / "index.json").unlink()  # as a run killed before its end leaves the folder
    assert shard(data, out, "--clips-per-shard", "6") == 2  # refused: the folder holds shards
    assert shard(data, out, "--clips-per-shard", "6", "--overwrite") == 0
    assert sorted(p.name for p in (out / "train").glob("*.tar")) == ["train-000000.tar", "train-000001.tar"]
    keys = [s.key for found in open_shards(str(out / "train")).shards for s in iter_shard_samples(found.url)]
    assert len(keys) == len(set(keys)) == 12


def test_shards_that_disagree_with_their_index_are_refused_naming_the_shard(data, tmp_path):
    out = tmp_path / "shards"
    assert shard(data, out, "--clips-per-shard", "4") == 0
    folder = out / "train"
    index = json.loads((folder / "index.json").read_text())
    # The index lists fewer samples than the shard holds (its total kept consistent).
    index["shards"][1]["num_samples"], index["num_samples"] = 3, 11
    (folder / "index.json").write_text(json.dumps(index))
    with pytest.raises(ManifestError, match=r"train-000001\.tar: holds 4 samples, its index.json says 3"):
        open_shards(str(folder))
    # A truncated shard: refused from its index (size), and named with its key when read without one.
    index["shards"][1]["num_samples"], index["num_samples"] = 4, 12
    (folder / "index.json").write_text(json.dumps(index))
    path = folder / "train-000002.tar"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ManifestError, match=r"train-000002\.tar: \d+ bytes, its index.json says \d+"):
        open_shards(str(folder))
    with pytest.raises(ManifestError, match=r"train-000002\.tar: key '0000000\d\d' member 'mp4' is cut short"):
        list(iter_shard_samples(str(path)))


def test_an_oversized_member_is_refused_before_it_is_read(data, tmp_path, monkeypatch):
    out = tmp_path / "shards"
    assert shard(data, out, "--clips-per-shard", "12") == 0
    monkeypatch.setattr(shards_module, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(ManifestError, match=r"train-000000\.tar: key '000000000' member '(json|mp4)' is \d+ bytes"):
        list(iter_shard_samples(str(out / "train" / "train-000000.tar"), wanted=lambda extension: extension == "mp4"))


def test_stored_features_of_the_wrong_dtype_shape_or_with_nan_are_refused():
    processor = SocialMAEProcessor.for_model_config(fresh_config("social-mae", TRAIN_OVERRIDES))
    shape = (processor.feature_extractor.max_length, processor.feature_extractor.num_mel_bins)

    def inputs(array):
        buffer = io.BytesIO()
        np.save(buffer, array)
        members = {FBANK_MEMBER: buffer.getvalue()}
        return precomputed_inputs(processor, members, ("audio",), training=False, generator=None)

    assert inputs(np.ones(shape, np.float32))["input_values"].dtype == torch.float32
    with pytest.raises(ManifestError, match=r"input_values.npy: int64 .*float32"):
        inputs(np.zeros(shape, np.int64))
    with pytest.raises(ManifestError, match=r"input_values.npy: float32 \(3, 5\)"):
        inputs(np.zeros((3, 5), np.float32))
    nan = np.zeros(shape, np.float32)
    nan[3, 4] = np.nan
    with pytest.raises(ManifestError, match="NaN"):
        inputs(nan)


def test_media_paths_in_shards_are_relative_and_only_media_from_the_manifest_tree_are_packed(data, tmp_path, capsys):
    out = tmp_path / "shards"
    assert shard(data, out) == 0
    with tarfile.open(out / "train" / "train-000000.tar") as tar:
        row = json.loads(tar.extractfile("000000000.json").read())
    assert row["_media"] == "train/00000.mp4"
    # A row that is a link to a private file outside the manifest's folder is refused, naming it.
    secret = tmp_path / "private" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    os.symlink(secret, data.parent / "train" / "key.mp4")
    rows = data.read_text() + "train/key.mp4,low_circle\n"
    data.write_text(rows)
    assert shard(data, tmp_path / "again") == 2
    err = capsys.readouterr().err
    assert "key.mp4 is a symbolic link out of the manifest's folder" in err and "--follow-symlinks" in err
    # Following links, the file is still refused: it is not media.
    assert shard(data, tmp_path / "again", "--follow-symlinks", "--overwrite") == 2
    assert "key.mp4 does not decode as video" in capsys.readouterr().err
    # A link to real media outside the tree is packed when links are followed.
    outside = tmp_path / "elsewhere.mp4"
    shutil.copy(data.parent / "train" / "00000.mp4", outside)
    (data.parent / "train" / "key.mp4").unlink()
    os.symlink(outside, data.parent / "train" / "key.mp4")
    assert shard(data, tmp_path / "again", "--follow-symlinks", "--overwrite") == 0
    assert json.loads((tmp_path / "again" / "train" / "index.json").read_text())["num_samples"] == 13


def test_the_shard_command_without_datasets_names_the_extra(data, tmp_path, capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "datasets" else find_spec(name, *a)
    )
    assert shard(data, tmp_path / "out") == 2
    assert 'not installed: pip install "social-mae-hf[train]"' in capsys.readouterr().err
