"""Training at corpus scale: tar shards (format, writing, reading from paths and fsspec URLs, precomputed features),
the epoch plan of streamed shards (processes, workers, shuffling, resuming), `datasets` streaming, `social-mae
shard`, and two DDP processes reading distinct parts of the shards.

Shards are written from the small synthetic sets of `conftest.py` (1 s, 32 px clips).
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import fsspec
import numpy as np
import pytest
import torch
from conftest import ROOT, TRAIN_OVERRIDES, load_example
from safetensors.torch import load_file

from social_mae_hf import SocialMAEProcessor
from social_mae_hf.cli import main as cli_main
from social_mae_hf.cli.shard import _clip as shard_clip
from social_mae_hf.shards.dataset import (
    ShardedClipDataset,
    batches_before,
    buffer_order,
    process_part,
    worker_batches,
)
from social_mae_hf.shards.precomputed import StoredFrames, precomputed_inputs, read_stored_frames, window_starts
from social_mae_hf.shards.reader import add_member, expand_braces, iter_shard_samples, open_shards
from social_mae_hf.shards.writer import ShardLimits, parse_size, write_split_shards
from social_mae_hf.training import (
    ClipDecodeError,
    ClipTransform,
    ManifestColumns,
    ManifestError,
    SocialMAECollator,
    SocialMAETrainer,
    TargetEncoder,
    load_clip_datasets,
)
from social_mae_hf.training.model_init import fresh_config

run_finetune = load_example("run_finetune").main
run_pretrain = load_example("run_pretrain").main
ACCELERATE = ROOT / "examples" / "accelerate"
COMMON = ["--report_to", "none", "--use_cpu", "--disable_tqdm", "true", "--seed", "0"]


def tiny_processor(**overrides) -> SocialMAEProcessor:
    """The processor `run_finetune.py --config_name social-mae --config_overrides TRAIN_OVERRIDES` uses."""
    return SocialMAEProcessor.for_model_config(fresh_config("social-mae", TRAIN_OVERRIDES), **overrides)


def manifest_records(path, task="classification"):
    """A manifest's clips as `social-mae shard` packs them."""
    splits, _ = load_clip_datasets(task, {"train": True}, ManifestColumns(), files={"train": str(path)})
    encoder = TargetEncoder(task, (), ManifestColumns())
    return [shard_clip(row, row["_source"], encoder) for row in splits["train"].to_list()]


def sharded(shard_set, processor, encoder, *, columns=None, training=False, on_decode_error="abort", **kwargs):
    """A run's `ShardedClipDataset` for `encoder`'s task and classes."""
    encoder = TargetEncoder(encoder.task, encoder.names, columns or ManifestColumns())
    transform = ClipTransform(processor, encoder, training=training, on_decode_error=on_decode_error)
    return ShardedClipDataset(shard_set, transform, **kwargs)


def decoded_clip(processor, encoder, clip):
    """What decoding a clip's media gives (the reference for stored features)."""
    transform = ClipTransform(processor, TargetEncoder(encoder.task, encoder.names, ManifestColumns()))
    return transform.decode({"video": clip.video, "label": clip.target}, clip.source)


@pytest.fixture(scope="module")
def shards(synthetic_set, tmp_path_factory):
    """shards(precompute) -> {split: folder} of the classification set, 10 clips per shard, in manifest order."""
    root = tmp_path_factory.mktemp("shards")
    written = {}

    def get(precompute: str = "none") -> dict[str, Path]:
        if precompute not in written:
            manifests = synthetic_set("classification")
            written[precompute] = {}
            for split in ("train", "validation"):
                folder = root / precompute / split
                write_split_shards(
                    manifest_records(manifests[split]),
                    folder,
                    split,
                    task="classification",
                    columns=ManifestColumns(),
                    limits=ShardLimits(clips=10),
                    precompute=precompute,
                    processor=tiny_processor() if precompute != "none" else None,
                    shuffle=False,
                    progress=False,
                    media_root=manifests[split].parent,
                )
                written[precompute][split] = folder
        return written[precompute]

    return get


# ---- the format ------------------------------------------------------------------------------------------------


def test_brace_patterns_expand_as_webdataset_reads_them():
    assert expand_braces("s/train-{000..002}.tar") == ["s/train-000.tar", "s/train-001.tar", "s/train-002.tar"]
    assert expand_braces("{train,val}-{8..10}.tar") == [
        "train-8.tar", "train-9.tar", "train-10.tar", "val-8.tar", "val-9.tar", "val-10.tar",
    ]  # fmt: skip
    assert expand_braces("a{b,c{1..2}}") == ["ab", "ac1", "ac2"]
    assert expand_braces("plain.tar") == ["plain.tar"]
    with pytest.raises(ManifestError, match="unbalanced braces"):
        expand_braces("train-{000..002.tar")
    assert parse_size("1GB") == 10**9 and parse_size("256MiB") == 256 * 2**20 and parse_size("4096") == 4096
    with pytest.raises(ValueError, match="not a size"):
        parse_size("1 parsec")


def test_shards_hold_every_clip_once_with_its_target_and_index(synthetic_set, shards):
    manifests = synthetic_set("classification")
    folder = shards()["train"]
    index = json.loads((folder / "index.json").read_text())
    assert [s["num_samples"] for s in index["shards"]] == [10] * 6 + [4]
    assert index["pattern"] == "train-{000000..000006}.tar" and index["num_samples"] == 64
    assert index["classes"] == {"high_circle": 16, "high_square": 16, "low_circle": 16, "low_square": 16}
    rows = list(csv.DictReader(manifests["train"].open()))
    seen = []
    for entry in index["shards"]:
        for sample in iter_shard_samples(str(folder / entry["name"])):
            assert set(sample.members) == {"json", "mp4"}
            seen.append((json.loads(sample.members["json"]), sample.members["mp4"]))
    assert [row["label"] for row, _ in seen] == [row["label"] for row in rows]
    assert seen[3][0]["_source"] == "train.csv row 4"
    assert seen[3][1] == (manifests["train"].parent / rows[3]["video"]).read_bytes()
    # A size limit starts shards earlier; a seeded shuffle reorders the clips, the same way each time.
    records = manifest_records(manifests["train"])[:12]
    size = sum(s["num_bytes"] for s in index["shards"][:1]) // 2
    small = write_split_shards(
        records, folder.parent / "small", "train", task="classification", columns=ManifestColumns(),
        limits=ShardLimits(clips=None, bytes=size), progress=False, seed=3,
    )  # fmt: skip
    assert all(s["num_bytes"] <= size for s in small["shards"]) and sum(s["num_samples"] for s in small["shards"]) == 12
    sources = [
        json.loads(sample.members["json"])["_source"]
        for entry in small["shards"]
        for sample in iter_shard_samples(str(folder.parent / "small" / entry["name"]))
    ]
    assert sorted(sources) == sorted(r.source for r in records) and sources != [r.source for r in records]
    with pytest.raises(ManifestError, match=r"already holds 'train' shards or an index .*: pass --overwrite"):
        write_split_shards(records, folder.parent / "small", "train", task="classification", columns=ManifestColumns())


def test_shards_are_found_by_folder_index_pattern_glob_and_fsspec_urls(shards, tmp_path):
    folder = shards()["train"]
    expected = [(str(folder / f"train-{i:06d}.tar"), 10 if i < 6 else 4) for i in range(7)]
    for spec in (str(folder), str(folder / "index.json"), str(folder / "train-{000000..000006}.tar")):
        found = open_shards(spec)
        assert [(s.url, s.num_samples) for s in found.shards] == expected, spec
        assert found.class_counts["low_square"] == 16
    # Part of the shards: counts from the index, class counts no longer exact.
    part = open_shards(str(folder / "train-{000001..000002}.tar"))
    assert part.num_samples == 20 and part.class_counts is None and part.class_names == {
        "high_circle", "high_square", "low_circle", "low_square",
    }  # fmt: skip
    # Without an index the shards are counted from their tar headers.
    bare = tmp_path / "bare"
    bare.mkdir()
    for i in (0, 6):
        shutil.copy(folder / f"train-{i:06d}.tar", bare)
    found = open_shards(str(bare / "train-*.tar"))
    assert [s.num_samples for s in found.shards] == [10, 4] and found.index == {}
    with pytest.raises(ManifestError, match=r"no index\.json in that folder .*a pattern such as '.*/bare/\*\.tar'"):
        open_shards(str(bare))  # a folder is read through its index only (a cut-short run leaves none)
    # fsspec URLs: file:// and an in-memory filesystem.
    assert open_shards(f"file://{folder}").num_samples == 64
    memory = fsspec.filesystem("memory")
    for name in ("index.json", "train-000000.tar", "train-000001.tar"):
        memory.pipe(f"/streaming-test/{name}", (folder / name).read_bytes())
    remote = open_shards("memory://streaming-test/train-{000000..000001}.tar")
    assert [s.num_samples for s in remote.shards] == [10, 10]
    keys = [s.key for s in iter_shard_samples("memory://streaming-test/train-000001.tar", start=2, stop=5)]
    assert keys == ["000000012", "000000013", "000000014"]
    with pytest.raises(ManifestError, match="the pattern matches no file"):
        open_shards(str(tmp_path / "nothing-*.tar"))


def test_the_datasets_webdataset_builder_reads_the_shards(shards):
    import datasets

    folder = shards("all")["validation"]
    files = sorted(str(p) for p in folder.glob("*.tar"))
    stream = datasets.load_dataset("webdataset", data_files={"validation": files}, split="validation", streaming=True)
    row = next(iter(stream.cast_column("mp4", datasets.Video(decode=False))))
    assert row["__key__"] == "000000000" and row["json"]["label"] in (
        "high_circle",
        "low_circle",
        "low_square",
        "high_square",
    )
    assert np.asarray(row["input_values.npy"]).shape == (64, 128)


# ---- precomputed features ----------------------------------------------------------------------------------


def test_precomputed_features_give_the_inputs_of_decoding_the_media(synthetic_set, shards):
    manifests = synthetic_set("classification")
    processor = tiny_processor()
    encoder = TargetEncoder("classification", ("high_circle", "high_square", "low_circle", "low_square"))
    clips = manifest_records(manifests["validation"])
    stored = sharded(open_shards(str(shards("all")["validation"])), processor, encoder)
    assert stored.stored == {"audio": "input_values.npy", "video": "frames.npz"} and stored.decoded == ()
    items = list(stored)
    assert len(items) == 32
    for i, item in enumerate(items):
        reference = decoded_clip(processor, encoder, clips[i])
        assert item["labels"] == reference["labels"]
        for name in ("input_values", "pixel_values"):
            torch.testing.assert_close(item[name], reference[name], atol=1e-5, rtol=1e-5)
    # Another processor than the one the features were computed with: an error naming what differs.
    other = tiny_processor(max_length=32)
    with pytest.raises(ManifestError, match=r"max_length: 64 in the shards, 32 now.*--use_precomputed_features false"):
        sharded(open_shards(str(shards("all")["validation"])), other, encoder)
    media_only = sharded(open_shards(str(shards("all")["validation"])), other, encoder, use_precomputed_features=False)
    assert media_only.decoded == ("audio", "video") and next(iter(media_only))["input_values"].shape == (32, 128)


def test_a_saved_and_reloaded_processor_still_uses_the_precomputed_features(shards, tmp_path):
    """`save_pretrained` adds `auto_map` (and a reload keeps it); such keys do not change a tensor, so the shards'
    features stay usable (they were refused as "made with other feature settings")."""
    processor = tiny_processor()
    processor.feature_extractor.auto_map = {"AutoFeatureExtractor": "feature_extraction_social_mae.X"}
    processor.video_processor.auto_map = {"AutoVideoProcessor": "video_processing_social_mae.X"}
    processor.save_pretrained(tmp_path / "saved")
    reloaded = SocialMAEProcessor.from_pretrained(tmp_path / "saved")
    encoder = TargetEncoder("classification", ("high_circle", "high_square", "low_circle", "low_square"))
    stored = sharded(open_shards(str(shards("all")["validation"])), reloaded, encoder)
    assert stored.decoded == ()


@pytest.mark.parametrize("family", ["social-mae", "cav-mae"])
def test_stored_frames_hold_every_frame_the_training_choice_can_pick(media, family):
    """Social-MAE: training windows start on the grid through the evaluation window; CAV-MAE: all 10 slots."""
    path = media("c25.mp4")  # 6 s at 25 fps: 150 frames
    if family == "social-mae":
        processor = SocialMAEProcessor.social_mae(image_size=32, num_frames=8)
    else:
        processor = SocialMAEProcessor.cav_mae(image_size=32)
    stored = read_stored_frames(str(path), processor.video_processor, "c25.mp4")
    assert stored.num_frames == 150 and float(stored.fps) == 25.0
    if family == "social-mae":
        # Window of 100 frames, last start 50, evaluation start 25, step 12.
        assert window_starts(processor.video_processor, 150, 25.0) == [1, 13, 25, 37, 49]
        assert stored.indices.tolist() == list(range(1, 134, 12))
    else:
        assert stored.indices.tolist() == [0, 14, 29, 44, 59, 74, 89, 104, 119, 134]
    stored = StoredFrames.from_bytes(stored.to_bytes())
    picked = set()
    for seed in range(12):
        generator = torch.Generator().manual_seed(seed)
        inputs = precomputed_inputs(processor, {"frames.npz": stored.to_bytes()}, ("video",), training=True,
                                    generator=generator)  # fmt: skip
        rows = stored.choose_rows(
            processor.video_processor, training=True, generator=torch.Generator().manual_seed(seed)
        )
        frames = stored.indices[rows].tolist()
        picked.add(frames[0])
        # The same frames decoded from the file give the same pixels.
        chosen = np.asarray(frames)
        from_file = processor(videos=str(path), sample_indices_fn=lambda metadata, num_frames, chosen=chosen: chosen,
                              modalities="video")  # fmt: skip
        torch.testing.assert_close(inputs["pixel_values"], from_file["pixel_values"][0], atol=1e-5, rtol=1e-5)
    assert len(picked) > 2  # the training choice varies among the stored windows / slots
    evaluation = precomputed_inputs(processor, {"frames.npz": stored.to_bytes()}, ("video",), training=False,
                                    generator=None)  # fmt: skip
    expected = processor(videos=str(path), modalities="video")["pixel_values"][0]
    torch.testing.assert_close(evaluation["pixel_values"], expected, atol=1e-5, rtol=1e-5)


# ---- the epoch plan ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "world", "workers", "batch"), [(64, 2, 2, 4), (60, 4, 3, 4), (23, 3, 2, 5)])
def test_processes_and_workers_split_an_epoch_into_equal_parts_of_whole_batches(total, world, workers, batch):
    seen = Counter()
    batches_per_process = set()
    for rank in range(world):
        first, count = process_part(total, rank, world)
        num_batches = -(-count // batch)
        batches_per_process.add(num_batches)
        runs = [worker_batches(num_batches, w, workers) for w in range(workers)]
        assert sum(n for _, n in runs) == num_batches and [f for f, _ in runs] == sorted(f for f, _ in runs)
        assert max(n for _, n in runs) - min(n for _, n in runs) <= 1
        seen.update((first + np.arange(count)) % total)
    assert len(batches_per_process) == 1  # every process runs the same number of steps
    assert set(seen) == set(range(total))
    padding = world * -(-total // world) - total
    assert sum(seen.values()) == total + padding and sum(c - 1 for c in seen.values()) == padding
    # The DataLoader's round robin: of its first k batches, worker w made batches_before(k, w) of them.
    for k in range(12):
        assert sum(batches_before(k, w, workers) for w in range(workers)) == k
    order = buffer_order(50, 8, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(50)) and order.tolist() != list(range(50))
    # Each emitted item has been read, and at most 8 are held: item i is emitted after at most i + 8 reads.
    assert all(item <= position + 8 for position, item in enumerate(order.tolist()))
    assert buffer_order(5, 0, np.random.default_rng(0)).tolist() == [0, 1, 2, 3, 4]


def epoch_keys(dataset: ShardedClipDataset, epoch: int, workers: int) -> list[str]:
    """Keys in the order a DataLoader with `workers` workers yields them (round robin over whole batches)."""
    per_worker = []
    dataset.set_epoch(epoch)
    for w in range(workers):
        positions, order = dataset.worker_plan(epoch, w, workers)
        samples = {i: s for i, s in dataset._read(positions, order, epoch)}
        keys = [samples[int(i)].key for i in order]
        per_worker.append([keys[b : b + dataset.batch_size] for b in range(0, len(keys), dataset.batch_size)])
    out = []
    for t in range(max(len(b) for b in per_worker)):
        for w in range(workers):
            if t < len(per_worker[w]):
                out.extend(per_worker[w][t])
    return out


def test_training_shards_are_reshuffled_each_epoch_and_evaluation_keeps_their_order(shards):
    encoder = TargetEncoder("classification", ("high_circle", "high_square", "low_circle", "low_square"))
    found = open_shards(str(shards()["train"]))
    training = sharded(found, tiny_processor(), encoder, training=True, shuffle_buffer_size=6, seed=1)
    training.configure(batch_size=4)
    first, second = epoch_keys(training, 0, 2), epoch_keys(training, 1, 2)
    assert sorted(first) == sorted(second) == [f"{i:09d}" for i in range(64)]
    assert first != second and first != sorted(first)
    assert epoch_keys(training, 1, 2) == second  # the plan is a function of the seed and the epoch
    evaluation = sharded(found, tiny_processor(), encoder)
    evaluation.configure(batch_size=4)
    assert epoch_keys(evaluation, 3, 1) == [f"{i:09d}" for i in range(64)]
    # Persistent DataLoader workers see each new epoch (it is in shared memory): their clips follow the plan.
    label_of = {
        sample.key: json.loads(sample.members["json"])["label"]
        for shard in found.shards
        for sample in iter_shard_samples(shard.url, wanted="json".__eq__)
    }
    loader = torch.utils.data.DataLoader(
        training, batch_size=4, num_workers=2, persistent_workers=True, collate_fn=SocialMAECollator()
    )
    for epoch in (0, 1):
        training.set_epoch(epoch)
        labels = [encoder.names[i] for batch in loader for i in batch["labels"].tolist()]
        assert labels == [label_of[key] for key in epoch_keys(training, epoch, 2)]
    with pytest.raises(ManifestError, match="hold their classes under 'label', not 'emotion': pass --label_column"):
        sharded(found, tiny_processor(), encoder, columns=ManifestColumns(label="emotion"))
    pretraining = open_shards(str(shards()["train"]))
    pretraining.index["task"] = "pretraining"
    with pytest.raises(ManifestError, match="were written for pretraining: they have no classification targets"):
        sharded(pretraining, tiny_processor(), encoder)


def test_evaluation_clips_come_in_the_order_of_their_records_with_several_workers(shards):
    """predictions.csv pairs the test predictions with `list_records` (the shards' order): a DataLoader with
    several workers must yield the evaluation clips in that order too (its round robin takes one batch per
    worker in turn)."""
    encoder = TargetEncoder("classification", ("high_circle", "high_square", "low_circle", "low_square"))
    evaluation = sharded(open_shards(str(shards()["validation"])), tiny_processor(), encoder)
    evaluation.configure(batch_size=3)
    expected = [row["label"] for _, row in evaluation.list_rows()]
    for workers in (2, 3):
        loader = torch.utils.data.DataLoader(
            evaluation, batch_size=3, num_workers=workers, collate_fn=SocialMAECollator()
        )
        labels = [encoder.names[i] for batch in loader for i in batch["labels"].tolist()]
        assert labels == expected
        assert epoch_keys(evaluation, 0, workers) == [f"{i:09d}" for i in range(32)]


# ---- decode failures --------------------------------------------------------------------------------------------


def test_an_undecodable_clip_aborts_naming_its_shard_and_key_or_is_skipped(synthetic_set, tmp_path):
    manifest = synthetic_set("classification")["train"]
    good = manifest_records(manifest)[0]
    path = tmp_path / "broken-000000.tar"
    with tarfile.open(path, "w") as tar:
        for key, video in (("clip-a", Path(good.video).read_bytes()), ("clip-b", b"\x00\x00\x00\x18ftypmp42" * 20)):
            add_member(tar, f"{key}.json", json.dumps({"label": good.target}).encode())
            add_member(tar, f"{key}.mp4", video)
    encoder = TargetEncoder("classification", ("high_circle", "high_square", "low_circle", "low_square"))
    found = open_shards(str(path))
    assert found.num_samples == 2 and found.class_names is None
    with pytest.raises(ClipDecodeError, match=r"shard .*broken-000000\.tar key 'clip-b'"):
        list(sharded(found, tiny_processor(), encoder))
    items = list(sharded(found, tiny_processor(), encoder, on_decode_error="skip"))
    assert items[1]["decode_error"] is not None and "key 'clip-b'" in items[1]["clip_source"]
    batch = SocialMAECollator()(items)
    assert batch["pixel_values"].shape[0] == 1 and len(batch["skipped_clips"]) == 1
    # A target the task cannot use is a data error, whatever the policy.
    with tarfile.open(tmp_path / "bad-label.tar", "w") as tar:
        add_member(tar, "x.json", json.dumps({"label": "angry"}).encode())
        add_member(tar, "x.mp4", Path(good.video).read_bytes())
    with pytest.raises(ManifestError, match=r"key 'x': class\(es\) \['angry'\] not among"):
        list(sharded(open_shards(str(tmp_path / "bad-label.tar")), tiny_processor(), encoder,
                                on_decode_error="skip"))  # fmt: skip


# ---- social-mae shard ---------------------------------------------------------------------------------------


def test_the_shard_command_packs_each_split_with_precomputed_features(synthetic_set, tmp_path, capsys):
    manifests = synthetic_set("regression")
    out = tmp_path / "packed"
    args = [
        "shard",
        str(out),
        "--train-file",
        str(manifests["train"]),
        "--validation-file",
        str(manifests["validation"]),
    ]
    args += ["--task", "regression", "--target-columns", "pitch,redness", "--clips-per-shard", "16", "--quiet"]
    assert cli_main([*args, "--precompute", "fbank"]) == 2
    assert "--precompute fbank needs the processor of the model to train" in capsys.readouterr().err
    processor = ["--config-name", "social-mae", "--config-overrides", TRAIN_OVERRIDES, "--num-workers", "2"]
    assert cli_main([*args, "--precompute", "fbank", *processor]) == 0
    printed = capsys.readouterr().out
    assert "train: 64 clips in 4 shard(s)" in printed and "validation: 32 clips in 2 shard(s)" in printed
    index = json.loads((out / "train" / "index.json").read_text())
    assert index["features"] == ["input_values"] and index["columns"]["targets"] == ["pitch", "redness"]
    assert index["processor"]["feature_extractor"]["max_length"] == 64 and "classes" not in index
    sample = next(iter_shard_samples(str(out / "validation" / "validation-000000.tar")))
    assert set(sample.members) == {"json", "mp4", "input_values.npy"}
    assert set(json.loads(sample.members["json"])) == {"pitch", "redness", "_source", "_media"}
    assert np.load(io.BytesIO(sample.members["input_values.npy"])).shape == (64, 128)
    assert cli_main([*args, "--precompute", "fbank", *processor]) == 2
    assert "pass --overwrite" in capsys.readouterr().err


# ---- end to end through the scripts -----------------------------------------------------------------------------


def shard_finetune_args(shard_folders, output_dir, *extra) -> list[str]:
    return [
        "--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES,
        "--train_shards", str(shard_folders["train"]), "--output_dir", str(output_dir), "--do_train",
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--learning_rate", "1e-3",
        *COMMON, *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_fine_tuning_on_precomputed_shards_learns_and_predicts(shards, tmp_path, one_torch_thread):
    folders = shards("all")
    out = tmp_path / "learned"
    args = ["--num_train_epochs", "10", "--per_device_train_batch_size", "8", "--dataloader_num_workers", "2"]
    args += ["--validation_shards", str(folders["validation"]), "--test_shards", str(folders["validation"])]
    args += ["--do_eval", "--do_predict", "--save_strategy", "no", "--shuffle_buffer_size", "16"]
    metrics = run_finetune(shard_finetune_args(folders, out, *args))
    assert metrics["eval_accuracy"] >= 0.9, metrics
    assert metrics["train_samples"] == 64 and metrics["eval_samples"] == 32 and metrics["test_samples"] == 32
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 80 and state["epoch"] == 10  # 8 batches of 8 per epoch: epochs are real
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(rows) == 32 and rows[0]["media"].endswith("00000.mp4")
    assert rows[0]["label"] in ("high_circle", "high_square", "low_circle", "low_square")
    assert sum(row["label"] == row["prediction"] for row in rows) >= 0.9 * 32


class KeyLog:
    """Records, through the test's patches, the keys of the clips each training batch held (in the main process)
    and every clip decoded (in the DataLoader workers, one file per process)."""

    def __init__(self, folder: Path, monkeypatch):
        self.restart(folder)
        decode, collate, prepare = (
            ShardedClipDataset.decode,
            SocialMAECollator.__call__,
            SocialMAETrainer._prepare_inputs,
        )
        log = self

        def logged_decode(dataset, sample, epoch, position):
            with (log.folder / f"decoded-{os.getpid()}.txt").open("a") as handle:
                handle.write(f"{sample.key}\n")
            item = decode(dataset, sample, epoch, position)
            item["_key"] = sample.key
            return item

        def keyed_collate(collator, items):
            keys = [item.pop("_key") for item in items]
            return {**collate(collator, items), "_keys": keys}

        def recording_prepare(trainer, inputs):
            keys = inputs.pop("_keys", None)
            if keys is not None and trainer.model.training:
                log.batches.append(keys)
            return prepare(trainer, inputs)

        monkeypatch.setattr(ShardedClipDataset, "decode", logged_decode)
        monkeypatch.setattr(SocialMAECollator, "__call__", keyed_collate)
        monkeypatch.setattr(SocialMAETrainer, "_prepare_inputs", recording_prepare)

    def restart(self, folder: Path) -> None:
        """Log a new run into `folder`."""
        self.folder, self.batches = folder, []
        folder.mkdir(parents=True, exist_ok=True)

    def decoded(self) -> list[str]:
        return [line for path in self.folder.glob("decoded-*.txt") for line in path.read_text().split()]


@pytest.mark.slow
@pytest.mark.parametrize(("clips", "batches_per_epoch"), [(24, 6), (20, 5)])
def test_a_resumed_run_trains_on_exactly_the_clips_it_had_not_seen_in_order(
    shards, tmp_path, monkeypatch, clips, batches_per_epoch
):
    """Killed after checkpoint-9 (3 or 4 batches into epoch 2 of 2; 2 workers, whose batch counts differ with 5
    batches; a shuffle buffer): the rerun resumes there, decodes none of the clips of the epoch's first batches,
    trains on the same batches as the uninterrupted run, and ends with the same weights."""
    out = tmp_path / "resumed"
    args = shard_finetune_args(shards(), out, "--max_train_samples", str(clips), "--num_train_epochs", "2")
    args += ["--dataloader_num_workers", "2", "--shuffle_buffer_size", "5", "--save_strategy", "steps"]
    args += ["--save_steps", "3", "--lr_scheduler_type", "constant", "--remove_unused_columns", "false"]
    log = KeyLog(tmp_path / "first", monkeypatch)
    run_finetune(args)
    first, steps = log.batches, 2 * batches_per_epoch
    everything = [f"{i:09d}" for i in range(clips)]
    assert len(first) == steps and sorted(k for b in first[:batches_per_epoch] for k in b) == everything
    uninterrupted = load_file(out / "model.safetensors")
    for name in (f"checkpoint-{steps}", "model.safetensors", "trainer_state.json", "all_results.json"):
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    log.restart(tmp_path / "second")
    run_finetune(args)
    assert log.batches == first[9:]
    # The epoch's first batches were read past, not decoded: the rerun decoded only what it trained on.
    assert sorted(log.decoded()) == sorted(k for b in first[9:] for k in b)
    resumed = load_file(out / "model.safetensors")
    assert all(torch.equal(resumed[name], uninterrupted[name]) for name in uninterrupted)


@pytest.mark.slow
def test_streaming_a_datasets_dataset_needs_max_steps_and_trains(synthetic_set, tmp_path):
    manifests = synthetic_set("pretraining")
    base = ["--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES, "--do_train", *COMMON]
    base += ["--dataset_name", str(manifests["train"].parent), "--streaming", "--per_device_train_batch_size", "4"]
    with pytest.raises(ValueError, match="a --streaming dataset has no length: give --max_steps"):
        run_pretrain([*base, "--output_dir", str(tmp_path / "no-steps")])
    out = tmp_path / "streamed"
    metrics = run_pretrain([*base, "--output_dir", str(out), "--max_steps", "3", "--dataloader_num_workers", "1"])
    assert metrics["train_loss"] > 0 and "train_samples" not in metrics
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 3
    with pytest.raises(ValueError, match="--streaming streams a `datasets` dataset: give --dataset_name"):
        run_pretrain(["--config_name", "social-mae", "--train_file", str(manifests["train"]), "--streaming",
                      "--output_dir", str(tmp_path / "x"), "--do_train", "--max_steps", "1", *COMMON])  # fmt: skip


DDP_SCRIPT = """
import os, sys
sys.path.insert(0, {tests!r})
from social_mae_hf.training import SocialMAETrainer
from social_mae_hf.shards.dataset import ShardedClipDataset
from conftest import load_example

decode, prepare = ShardedClipDataset.decode, SocialMAETrainer._prepare_inputs

def logged_decode(dataset, sample, epoch, position):
    item = decode(dataset, sample, epoch, position)
    if dataset.training:
        with open(os.path.join({log!r}, f"rank{{dataset.rank}}-epoch{{epoch}}-{{os.getpid()}}.txt"), "a") as handle:
            handle.write(sample.key + "\\n")
    return item

ShardedClipDataset.decode = logged_decode
load_example("run_finetune").main(sys.argv[1:])
"""


@pytest.mark.slow
def test_two_ddp_processes_read_distinct_parts_and_see_every_clip_once_per_epoch(shards, tmp_path):
    """`accelerate launch --config_file examples/accelerate/multi_gpu.yaml --num_processes 2` on CPU (gloo) with
    streamed shards: each process decodes its own clips (one worker each), together every clip once per epoch;
    evaluation streams through the main process."""
    folders = shards()
    log = tmp_path / "keys"
    log.mkdir()
    script = tmp_path / "launch.py"
    script.write_text(DDP_SCRIPT.format(tests=str(ROOT / "tests"), log=str(log)))
    out = tmp_path / "ddp"
    args = shard_finetune_args(folders, out, "--max_train_samples", "32", "--num_train_epochs", "2")
    args += ["--dataloader_num_workers", "1", "--save_strategy", "no", "--shuffle_buffer_size", "4"]
    args += ["--do_eval", "--validation_shards", str(folders["validation"]), "--max_eval_samples", "12"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env["OMP_NUM_THREADS"] = "1"
    # The README's DDP config; on a machine without GPUs its MULTI_GPU launcher runs gloo processes on the CPU.
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ACCELERATE / "multi_gpu.yaml")]
    command += ["--num_processes", "2", "--mixed_precision", "no"]
    done = subprocess.run([*command, str(script), *args], env=env, capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "distributed True" in output
    everything = [f"{i:09d}" for i in range(32)]
    for epoch in (0, 1):
        by_rank = {
            rank: [k for p in log.glob(f"rank{rank}-epoch{epoch}-*.txt") for k in p.read_text().split()]
            for rank in (0, 1)
        }
        assert len(by_rank[0]) == len(by_rank[1]) == 16, by_rank
        assert sorted(by_rank[0] + by_rank[1]) == everything
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 8 and state["epoch"] == 2  # 16 clips per process in batches of 4, 2 epochs
    metrics = json.loads((out / "all_results.json").read_text())
    assert metrics["eval_samples"] == 12 and metrics["train_samples"] == 32


def test_the_accelerate_config_files_load_and_name_what_exists():
    from accelerate.commands.config.config_args import load_config_from_file

    from social_mae_hf import SocialMAEPreTrainedModel

    kinds = {}
    for path in sorted(ACCELERATE.glob("*.yaml")):
        config = load_config_from_file(str(path))
        kinds[path.stem] = (str(config.distributed_type), config.num_machines)
    assert kinds == {
        "deepspeed_zero2": ("DistributedType.DEEPSPEED", 1),
        "fsdp": ("DistributedType.FSDP", 1),
        "multi_gpu": ("DistributedType.MULTI_GPU", 1),
        "multi_node": ("DistributedType.MULTI_GPU", 4),
    }
    fsdp = load_config_from_file(str(ACCELERATE / "fsdp.yaml")).fsdp_config
    assert fsdp["fsdp_transformer_layer_cls_to_wrap"] in SocialMAEPreTrainedModel._no_split_modules
    deepspeed = load_config_from_file(str(ACCELERATE / "deepspeed_zero2.yaml")).deepspeed_config
    assert json.loads((ROOT / deepspeed["deepspeed_config_file"]).read_text())["zero_optimization"]["stage"] == 2
    node = (ACCELERATE / "multi_node.yaml").read_text()
    assert "machine_rank: 0                 # CHANGE" in node and "main_process_ip: 10.0.0.1       # CHANGE" in node


def test_the_trainer_reports_the_whole_shard_set_not_one_process_share(shards):
    """With 2 processes each reads half the shards; the Trainer's `Num examples` and its sample counts must still
    say the set's size (it read `len(dataset)`, this process's share: 32 for a 64-clip set)."""
    encoder = TargetEncoder("classification", ("high_circle", "high_square", "low_circle", "low_square"))
    dataset = sharded(open_shards(str(shards()["train"])), tiny_processor(), encoder, training=True)
    dataset.configure(rank=1, world_size=2, batch_size=4)
    assert len(dataset) == 32
    trainer = SocialMAETrainer.__new__(SocialMAETrainer)  # num_examples reads only the DataLoader
    assert trainer.num_examples(torch.utils.data.DataLoader(dataset, batch_size=4)) == 64
