"""Training parts: augmentations, losses, metrics, optimizer groups, unused parameters, inflation, loading, Hub."""

import math

import numpy as np
import pytest
import torch
from conftest import REFERENCE, TINY_HEADS, load_example, tiny_config, tiny_inputs
from transformers import TrainingArguments
from transformers.trainer_utils import EvalPrediction

from social_mae_hf import (
    ModelFilesError,
    SocialMAEConfig,
    SocialMAEFeatureExtractor,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
    SocialMAEProcessor,
)
from social_mae_hf.cli import main as cli_main
from social_mae_hf.hub import HubUnavailableError, check_hub_available
from social_mae_hf.metrics import (
    classification_metrics,
    multi_label_metrics,
    pretraining_metrics,
    regression_metrics,
)
from social_mae_hf.training import (
    ManifestError,
    MetricsComputer,
    Mixup,
    SocialMAECollator,
    SocialMAETrainer,
    SpecAugment,
    TrainAugmentation,
    freeze_backbone,
    inflate_state_dict,
    initialise_from_single_frame,
    load_model_and_processor,
)
from social_mae_hf.training.checkpoints import FinishedRun, checkpoint_problems, finished_run, last_complete_checkpoint
from social_mae_hf.training.losses import balanced_class_weights, parse_class_weights, weighted_classification_loss
from social_mae_hf.training.model_init import parse_config_overrides
from social_mae_hf.training.optimization import parameter_groups
from social_mae_hf.training.unused_parameters import freeze_unused_parameters, unused_parameter_names

# ---- SpecAugment -----------------------------------------------------------------------------------------------


def test_spec_augment_masks_one_band_per_axis_per_clip():
    torch.manual_seed(0)
    x = torch.randn(64, 100, 128)
    out = SpecAugment(freqm=30, timem=40, mask_value=-7.0)(x)
    masked = out == -7.0
    for clip in range(64):
        bins = masked[clip].all(dim=0).nonzero().flatten()
        frames = masked[clip].all(dim=1).nonzero().flatten()
        # Contiguous bands, narrower than the limits; everything else untouched.
        for band, limit in ((bins, 30), (frames, 40)):
            assert len(band) < limit
            if len(band):
                assert (band.diff() == 1).all()
        outside = ~masked[clip]
        torch.testing.assert_close(out[clip][outside], x[clip][outside])
        expected = torch.zeros(100, 128, dtype=torch.bool)
        expected[:, bins] = True
        expected[frames, :] = True
        assert torch.equal(masked[clip], expected)
    widths = masked.all(dim=1).sum(dim=1).float()
    assert 10 < widths.mean() < 20  # width = int(U * 30): mean 14.5, as torchaudio draws it
    assert torch.equal(SpecAugment()(x), x)


def test_spec_augment_fills_with_a_normalised_zero_log_mel():
    extractor = SocialMAEFeatureExtractor.cav_mae()
    augment = SpecAugment.for_feature_extractor(extractor, freqm=48, timem=192)
    assert augment.mask_value == pytest.approx(5.081 / 4.4849)
    with pytest.raises(ValueError, match=">= 0"):
        SpecAugment(freqm=-1)


# ---- mixup -----------------------------------------------------------------------------------------------------


def test_mixup_mixes_inputs_and_labels_with_the_same_weight():
    torch.manual_seed(0)
    size = 32
    batch = {
        "input_values": torch.randn(size, 8, 4),
        "pixel_values": torch.randn(size, 2, 3, 4, 4),
        "labels": torch.arange(size),  # one class per clip, so that each label row shows who was mixed with whom
    }
    out = Mixup(prob=0.5, alpha=10.0, num_labels=size)(batch)
    labels = out["labels"]
    assert labels.shape == (size, size) and labels.dtype == torch.float32
    torch.testing.assert_close(labels.sum(1), torch.ones(size))
    weights = []
    for i in range(size):
        lam = labels[i, i].item()
        others = [j for j in range(size) if j != i and labels[i, j] > 0]
        assert len(others) <= 1
        j = others[0] if others else i
        torch.testing.assert_close(labels[i, j].item() if others else 1 - lam, 1 - lam)
        for name in ("input_values", "pixel_values"):
            torch.testing.assert_close(out[name][i], lam * batch[name][i] + (1 - lam) * batch[name][j])
        if others:
            weights.append(lam)
    assert 6 < len(weights) < 26  # about half the clips are mixed
    assert all(0.05 < w < 0.95 for w in weights)  # Beta(10, 10): near 0.5


def test_mixup_of_multi_hot_targets_and_its_arguments():
    torch.manual_seed(1)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    out = Mixup(prob=1.0, num_labels=3)({"labels": labels, "input_values": torch.zeros(2, 4, 4)})
    assert out["labels"].shape == (2, 3) and ((out["labels"] >= 0) & (out["labels"] <= 1)).all()
    with pytest.raises(ValueError, match="class indices"):
        Mixup(prob=1.0, num_labels=4)({"labels": labels})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Mixup(prob=1.5, num_labels=2)
    assert not TrainAugmentation(SpecAugment(), Mixup()).enabled


# ---- losses and class weights -------------------------------------------------------------------------------


def test_balanced_class_weights_and_the_weighted_loss():
    weights = balanced_class_weights([0, 0, 0, 1], 2)
    torch.testing.assert_close(weights, torch.tensor([4 / 6, 4 / 2]))
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] have no training clip"):
        balanced_class_weights([0, 1], 3)
    torch.testing.assert_close(parse_class_weights("1, 3", [0, 1], ["a", "b"]), torch.tensor([1.0, 3.0]))
    with pytest.raises(ValueError, match="2 values for 3 classes"):
        parse_class_weights("1,2", [0], ["a", "b", "c"])
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1])
    per_clip = -torch.log_softmax(logits, -1)[torch.arange(2), labels]
    expected = (1.0 * per_clip[0] + 3.0 * per_clip[1]) / 4.0
    torch.testing.assert_close(weighted_classification_loss(logits, labels, torch.tensor([1.0, 3.0])), expected)
    soft = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
    logp = torch.log_softmax(logits, -1)
    expected_soft = -((soft * logp) * torch.tensor([1.0, 3.0])).sum(-1).mean()
    torch.testing.assert_close(weighted_classification_loss(logits, soft, torch.tensor([1.0, 3.0])), expected_soft)


# ---- metrics ---------------------------------------------------------------------------------------------------


def test_classification_metrics_by_hand():
    labels = np.array([0, 0, 0, 1, 2])
    logits = np.eye(3)[[0, 0, 1, 1, 1]]  # predictions 0 0 1 1 1
    got = classification_metrics(logits, labels)
    assert got["accuracy"] == pytest.approx(3 / 5)
    assert got["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    f1 = [2 * 1 * (2 / 3) / (1 + 2 / 3), 2 * (1 / 3) * 1 / (1 / 3 + 1), 0.0]  # precision/recall per class
    assert got["f1_macro"] == pytest.approx(sum(f1) / 3)
    assert got["f1_micro"] == pytest.approx(3 / 5)
    # With the class names (as the fine-tuning script passes them), per class precision, recall and F1 as well.
    computed = MetricsComputer("classification", ["a", "b", "c"])(EvalPrediction(predictions=logits, label_ids=labels))
    assert {k: v for k, v in computed.items() if k in got} == got
    assert computed["precision_a"] == 1.0 and computed["recall_a"] == pytest.approx(2 / 3)
    assert computed["precision_b"] == pytest.approx(1 / 3) and computed["recall_b"] == 1.0
    assert computed["precision_c"] == computed["recall_c"] == computed["f1_c"] == 0.0
    assert [computed[f"f1_{name}"] for name in "abc"] == pytest.approx(f1)


def test_multi_label_metrics_by_hand():
    labels = np.array([[1, 0], [1, 1], [0, 1]])
    logits = np.array([[2.0, -1.0], [3.0, -2.0], [-1.0, 0.5]])  # predicted {0}, {0}, {1}
    got = multi_label_metrics(logits, labels)
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["f1_micro"] == pytest.approx(2 * 3 / (2 * 3 + 0 + 1))  # tp 3, fp 0, fn 1
    assert got["f1_macro"] == pytest.approx((1.0 + 2 / 3) / 2)
    # Class 0: scores 3, 2 (positives) then -1: AP 1. Class 1: 0.5 (positive), -1 (negative), -2 (positive):
    # precision 1 at the first positive and 2/3 at the second, AP 5/6.
    assert got["mean_average_precision"] == pytest.approx((1 + 5 / 6) / 2)


def test_regression_metrics_by_hand():
    labels = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    predictions = np.array([[0.1, 0.9], [0.5, 0.7], [0.7, 0.1]])
    got = regression_metrics(predictions, labels, ["a", "b"])
    assert got["mae_a"] == pytest.approx((0.1 + 0 + 0.3) / 3)
    assert got["one_minus_mae_b"] == pytest.approx(1 - (0.1 + 0.2 + 0.1) / 3)
    assert got["one_minus_mae"] == pytest.approx(1 - (0.4 / 3 + 0.4 / 3) / 2)
    assert got["pearson_a"] == pytest.approx(np.corrcoef(predictions[:, 0], labels[:, 0])[0, 1])
    assert got["pearson"] == pytest.approx((got["pearson_a"] + got["pearson_b"]) / 2)
    assert math.isnan(regression_metrics(np.ones((3, 1)), labels[:, :1], ["a"])["pearson_a"])
    with pytest.raises(ValueError, match="2 targets"):
        regression_metrics(predictions[:, :1], labels, ["a", "b"])


def test_pretraining_metrics_average_the_clips():
    stats = np.array([[1.0, 2.0, 3.0, 0.1, 0.5], [3.0, 4.0, 7.0, 0.3, 1.0]])
    assert pretraining_metrics(stats) == pytest.approx(
        {
            "audio_reconstruction_loss": 2.0,
            "video_reconstruction_loss": 3.0,
            "reconstruction_loss": 5.0,
            "contrastive_loss": 0.2,
            "contrastive_accuracy": 0.75,
        }
    )


# ---- optimizer groups ------------------------------------------------------------------------------------------


def test_backbone_and_head_get_their_own_learning_rates(tmp_path):
    model = SocialMAEForAudioVisualClassification(tiny_config())
    args = TrainingArguments(str(tmp_path), learning_rate=1e-4, weight_decay=0.05, report_to="none", use_cpu=True)
    trainer = SocialMAETrainer(model=model, args=args, head_learning_rate=1e-2)
    optimizer = trainer.create_optimizer()
    by_name = {g["name"]: g for g in optimizer.param_groups}
    assert set(by_name) == {"backbone", "backbone_no_decay", "head", "head_no_decay"}
    assert by_name["head"]["lr"] == 1e-2 and by_name["backbone"]["lr"] == 1e-4
    assert by_name["backbone"]["weight_decay"] == 0.05 and by_name["head_no_decay"]["weight_decay"] == 0.0
    head = {id(p) for p in model.classifier.parameters()}
    assert {id(p) for g in ("head", "head_no_decay") for p in by_name[g]["params"]} == head
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))
    assert id(model.classifier.dense.weight) in {id(p) for p in by_name["head"]["params"]}
    assert id(model.classifier.dense.bias) in {id(p) for p in by_name["head_no_decay"]["params"]}


def test_freeze_backbone_leaves_only_the_head():
    model = SocialMAEForAudioVisualClassification(tiny_config())
    assert freeze_backbone(model) > 50
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == [
        "classifier.layernorm.weight",
        "classifier.layernorm.bias",
        "classifier.dense.weight",
        "classifier.dense.bias",
    ]
    groups = parameter_groups(model, learning_rate=1e-3, head_learning_rate=None, weight_decay=0.0, decay=trainable)
    assert [g["name"] for g in groups] == ["head"] and groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match=r"no `classifier\.` head"):
        freeze_backbone(SocialMAEModel(tiny_config()))


# ---- unused parameters (DDP) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("modality", ["audiovisual", "audio", "video"])
@pytest.mark.parametrize("strategy", ["modality_specific", "average_fusion"])
def test_unused_parameters_match_a_real_backward_pass(modality, strategy):
    """The miniature probe finds exactly the tensors that the real model leaves without gradient."""
    config = tiny_config(single_modality_strategy=strategy)
    model = SocialMAEForAudioVisualClassification(config)
    probed = unused_parameter_names(model, modality)
    inputs = tiny_inputs(config)
    given = {
        "audiovisual": inputs,
        "audio": {"input_values": inputs["input_values"]},
        "video": {"pixel_values": inputs["pixel_values"]},
    }
    model(**given[modality], labels=torch.tensor([0, 1])).loss.backward()
    real = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert probed == real
    assert len(real) >= 12  # at least the fusion layer's 8 modality norms and the 2 final modality norms
    frozen = freeze_unused_parameters(model, modality)
    assert frozen == real and not any(p.requires_grad for n, p in model.named_parameters() if n in real)


@pytest.mark.parametrize(
    ("num_frames", "tubelet_size", "legacy"), [(1, 1, False), (4, 1, False), (4, 1, True), (4, 4, False)]
)
@pytest.mark.parametrize("model_class", [SocialMAEForAudioVisualClassification, SocialMAEForPreTraining])
def test_unused_parameters_with_any_tubelet_size(model_class, num_frames, tubelet_size, legacy):
    """`--config_overrides tubelet_size=1` on a multi-frame model: the probe stays a valid model and still exact."""
    config = tiny_config(
        num_frames=num_frames,
        tubelet_size=tubelet_size,
        legacy_video_target_order=legacy,
        contrastive_loss_weight=0.0,
    )
    model = model_class(config)
    extra = {"labels": torch.tensor([0, 1])} if model_class is SocialMAEForAudioVisualClassification else {}
    model(**tiny_inputs(config), **extra).loss.backward()
    real = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert unused_parameter_names(model) == real
    assert "social_mae.encoder.audio_layernorm.weight" in real


def test_pretraining_uses_everything_unless_a_loss_is_off():
    assert unused_parameter_names(SocialMAEForPreTraining(tiny_config())) == []
    no_contrast = unused_parameter_names(SocialMAEForPreTraining(tiny_config(contrastive_loss_weight=0.0)))
    assert "social_mae.encoder.audio_layernorm.weight" in no_contrast
    assert not any(n.startswith("decoder.") for n in no_contrast)
    with pytest.raises(ValueError, match="both modalities"):
        unused_parameter_names(SocialMAEForPreTraining(tiny_config()), "audio")


# ---- inflation -------------------------------------------------------------------------------------------------


def single_frame_pretraining(seed=0):
    torch.manual_seed(seed)
    config = tiny_config(num_frames=1, tubelet_size=1)
    model = SocialMAEForPreTraining(config).eval()
    with torch.no_grad():  # positions away from their sin-cos init, so that tiling is visible
        for p in (model.social_mae.embeddings.video_position_embeddings, model.decoder.video_position_embeddings):
            p.add_(torch.randn_like(p))
    return model


def test_a_static_clip_embeds_identically_after_inflation():
    source = single_frame_pretraining()
    target_config = tiny_config(num_frames=4, tubelet_size=2)
    target = SocialMAEForPreTraining(target_config).eval()
    report = initialise_from_single_frame(target, source.state_dict(), source.config, "inflate")
    assert len(report["inflated"]) == 5 and report["kept_initialisation"] == []
    frame = torch.randn(2, 1, 3, 32, 32)
    static = frame.expand(-1, 4, -1, -1, -1)
    with torch.no_grad():
        single = source.social_mae.embeddings(pixel_values=frame).video  # (2, 4 positions, D)
        inflated = target.social_mae.embeddings(pixel_values=static).video  # (2, 4 positions x 2 tubelets, D)
    torch.testing.assert_close(inflated, single.repeat_interleave(2, dim=1), atol=1e-5, rtol=1e-5)
    # The decoder predicts a static tubelet as the single frame's patch, repeated per frame.
    hidden = torch.randn(3, target_config.decoder_hidden_size)
    torch.testing.assert_close(
        target.decoder.video_pred(hidden), source.decoder.video_pred(hidden).repeat(1, 2), atol=1e-6, rtol=1e-6
    )
    # A moving clip is no longer the single frame's embedding.
    with torch.no_grad():
        moving = target.social_mae.embeddings(pixel_values=torch.randn(2, 4, 3, 32, 32)).video
    assert not torch.allclose(moving, inflated)


def test_positions_are_tiled_over_time_and_everything_else_copied():
    source = single_frame_pretraining()
    target = SocialMAEForPreTraining(tiny_config(num_frames=4, tubelet_size=2))
    state = inflate_state_dict(source.state_dict(), source.config, target.config)
    positions = source.social_mae.embeddings.video_position_embeddings.detach()
    tiled = state["social_mae.embeddings.video_position_embeddings"]
    assert tiled.shape == (1, 8, 32)
    for spatial in range(4):
        for time in range(2):
            torch.testing.assert_close(tiled[0, spatial * 2 + time], positions[0, spatial])  # time fastest
    assert state["decoder.video_position_embeddings"].shape == (1, 8, 16)
    assert state["decoder.video_pred.weight"].shape == (2 * 16 * 16 * 3, 16)
    name = "social_mae.encoder.fusion_layers.0.mlp.fc1.weight"
    assert torch.equal(state[name], source.state_dict()[name])
    reinit = SocialMAEForPreTraining(tiny_config(num_frames=4, tubelet_size=2))
    before = reinit.social_mae.embeddings.video_patch_embeddings.projection.weight.clone()
    report = initialise_from_single_frame(reinit, source.state_dict(), source.config, "reinit")
    assert len(report["reinitialised"]) == 5
    assert torch.equal(reinit.social_mae.embeddings.video_patch_embeddings.projection.weight, before)
    torch.testing.assert_close(reinit.decoder.mask_token, source.decoder.mask_token)
    with pytest.raises(ValueError, match="single-frame"):
        inflate_state_dict(target.state_dict(), target.config, target.config)


def test_loading_a_cav_mae_checkpoint_into_eight_frames(tmp_path):
    """The converted original CAV-MAE fixture into an 8-frame model: inflation is required, and the processor keeps
    the checkpoint's colour order and audio statistics while sampling a temporal window."""
    folder = tmp_path / "cav"
    assert cli_main(["convert", str(REFERENCE / "cav_mae_pretrain_tiny.pth"), str(folder), *TINY_HEADS]) == 0
    with pytest.raises(ValueError, match="pass --video_init inflate"):
        load_model_and_processor(
            SocialMAEForPreTraining, model_name_or_path=str(folder), config_overrides="num_frames=8,tubelet_size=2"
        )
    loaded = load_model_and_processor(
        SocialMAEForPreTraining,
        model_name_or_path=str(folder),
        config_overrides="num_frames=8,tubelet_size=2",
        video_init="inflate",
    )
    config, video = loaded.model.config, loaded.processor.video_processor
    assert (config.num_frames, config.tubelet_size, config.legacy_video_target_order) == (8, 2, False)
    assert video.num_frames == 8 and video.frame_sampling == "window"
    assert video.channel_order == "rgb" and loaded.processor.feature_extractor.mean == pytest.approx(-5.081)
    source = SocialMAEForPreTraining.from_pretrained(folder)
    torch.testing.assert_close(
        loaded.model.social_mae.encoder.audio_layers[0].mlp.fc1.weight,
        source.social_mae.encoder.audio_layers[0].mlp.fc1.weight,
    )
    with pytest.raises(ValueError, match="--video_init applies only"):
        load_model_and_processor(SocialMAEForPreTraining, model_name_or_path=str(folder), video_init="inflate")


# ---- model loading ---------------------------------------------------------------------------------------------


def test_config_overrides_are_typed_and_checked():
    config = SocialMAEConfig()
    assert parse_config_overrides(config, "hidden_size=64, norm_pix_loss=true,audio_mask_ratio=0.5") == {
        "hidden_size": 64,
        "norm_pix_loss": True,
        "audio_mask_ratio": 0.5,
    }
    with pytest.raises(ValueError, match="hiden_size isn't in the original config"):
        parse_config_overrides(config, "hiden_size=3")
    with pytest.raises(ValueError, match=r"hidden_size='big': invalid literal for int"):
        parse_config_overrides(config, "hidden_size=big")
    with pytest.raises(ValueError, match="not key=value"):
        parse_config_overrides(config, "hidden_size")


def test_only_the_head_may_be_reinitialised_when_loading(tmp_path):
    SocialMAEForAudioVisualClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "m")
    # A checkpoint without a processor is refused, as everywhere (nothing is guessed); one can be given.
    with pytest.raises(ModelFilesError, match=r"m: has no processor_config\.json"):
        load_model_and_processor(SocialMAEForAudioVisualClassification, model_name_or_path=str(tmp_path / "m"))
    SocialMAEProcessor.for_model_config(tiny_config()).save_pretrained(tmp_path / "p")
    loaded = load_model_and_processor(
        SocialMAEForAudioVisualClassification,
        model_name_or_path=str(tmp_path / "m"),
        processor_name=str(tmp_path / "p"),
        config_updates={"num_labels": 5},
    )
    assert loaded.model.classifier.dense.out_features == 5
    assert loaded.report["mismatched"] == ["classifier.dense.bias", "classifier.dense.weight"]
    assert loaded.processor.video_processor.num_frames == 4
    with pytest.raises(ValueError, match="only the task head may be re-initialised"):
        load_model_and_processor(
            SocialMAEForAudioVisualClassification,
            model_name_or_path=str(tmp_path / "m"),
            config_overrides="image_size=48",
        )
    with pytest.raises(ValueError, match=r"--model_name_or_path .* or --config_name"):
        load_model_and_processor(SocialMAEForAudioVisualClassification)


# ---- Hub -------------------------------------------------------------------------------------------------------


def test_push_to_hub_fails_early_and_clearly_when_the_hub_is_unreachable(tmp_path, monkeypatch):
    with pytest.raises(HubUnavailableError, match=r"cannot be reached .*Nothing was trained"):
        check_hub_available(timeout=5, endpoint="http://127.0.0.1:9")
    # The Trainer checks before it creates the Hub repo (and so before any training).
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    args = TrainingArguments(str(tmp_path), push_to_hub=True, report_to="none", use_cpu=True)
    with pytest.raises(HubUnavailableError, match=r"127\.0\.0\.1:9 cannot be reached"):
        SocialMAETrainer(model=SocialMAEForAudioVisualClassification(tiny_config()), args=args)


def test_a_trainer_without_compute_metrics_scores_the_models_task(tmp_path):
    args = TrainingArguments(str(tmp_path), report_to="none", use_cpu=True)
    labels = {"id2label": {0: "calm", 1: "happy", 2: "sad"}, "label2id": {"calm": 0, "happy": 1, "sad": 2}}
    model = SocialMAEForAudioVisualClassification(
        tiny_config(num_labels=3, problem_type="single_label_classification", **labels)
    )
    metrics = SocialMAETrainer(model, args).compute_metrics
    assert (metrics.task, metrics.names) == ("classification", ("calm", "happy", "sad"))
    scores = metrics(EvalPrediction(np.eye(3)[[0, 1, 2, 2]], np.array([0, 1, 2, 1])))
    assert scores["accuracy"] == pytest.approx(0.75)
    regression = SocialMAEForRegression(tiny_config(num_labels=2, id2label={0: "o", 1: "c"}, label2id={"o": 0, "c": 1}))
    assert SocialMAETrainer(model=regression, args=args).compute_metrics.names == ("o", "c")
    own = SocialMAETrainer(model=model, args=args, compute_metrics=len).compute_metrics
    assert own is len  # a user's own is kept


# ---- the example scripts ---------------------------------------------------------------------------------------


def test_the_flags_both_example_scripts_have_mean_the_same():
    """The flags both scripts take come from the same argument dataclasses, so they cannot drift; what pretraining
    has no use for (labels, the test split) is not offered there."""
    from dataclasses import fields

    from social_mae_hf.training import DataArguments, ModelArguments

    finetune, pretrain = load_example("run_finetune"), load_example("run_pretrain")
    for module in (finetune, pretrain):
        assert module.ModelArguments is ModelArguments and module.DataArguments is DataArguments

    def flags(*classes):
        return {f.name: (f.default, f.metadata) for cls in classes for f in fields(cls)}

    shared = flags(DataArguments, pretrain.PretrainArguments)
    ours = flags(DataArguments, finetune.LabelArguments, finetune.FinetuneArguments)
    common = set(shared) & set(ours)
    assert {"train_file", "video_column", "on_decode_error", "overwrite_output_dir"} <= common
    assert {name: ours[name] for name in common} == {name: shared[name] for name in common}
    assert {"label_column", "target_columns", "test_file", "class_names"}.isdisjoint(shared)
    assert {"label_column", "target_columns", "test_file", "class_names"} <= set(ours)


def test_example_script_reads_its_arguments_from_one_json_file(tmp_path, monkeypatch):
    """`python examples/run_finetune.py args.json`: the file's values reach the run (here: a missing manifest)."""
    import json

    missing = tmp_path / "nowhere" / "train.csv"
    args = {"config_name": "social-mae", "train_file": str(missing), "output_dir": str(tmp_path / "out")}
    path = tmp_path / "args.json"
    path.write_text(json.dumps({**args, "do_train": True, "report_to": "none", "use_cpu": True}))
    monkeypatch.setattr("sys.argv", ["run_finetune.py", str(path)])
    with pytest.raises(ManifestError, match=f"manifest {missing} does not exist"):
        load_example("run_finetune").main()


# ---- checkpoints: which one a rerun resumes from, and a run that already finished ------------------------------


def write_checkpoint(folder, step: int, *, killed_in=None, processes=1, **state):
    """The files `Trainer._save_checkpoint` writes, in its order (trainer_state.json last), with small contents;
    `killed_in`: the file a kill cut short, nothing after it written (what a kill -9 leaves: written data is kept)."""
    import json

    from safetensors.torch import save_file

    rng = ["rng_state.pth"] if processes == 1 else [f"rng_state_{rank}.pth" for rank in range(processes)]
    trainer_state = json.dumps({"global_step": step, "epoch": step / 4, **state})
    writers = {
        "config.json": lambda path: path.write_text("{}"),
        "model.safetensors": lambda path: save_file({"w": torch.arange(6.0).reshape(2, 3)}, str(path)),
        "optimizer.pt": lambda path: torch.save({"state": {}, "param_groups": []}, path),
        "scheduler.pt": lambda path: torch.save({"last_epoch": step}, path),
        **{name: (lambda path: torch.save({"python": 1}, path)) for name in rng},
        "trainer_state.json": lambda path: path.write_text(trainer_state),
    }
    folder.mkdir(parents=True)
    for name, write in writers.items():
        write(folder / name)
        if name == killed_in:
            cut_short(folder / name)
            break
    return folder


def cut_short(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_checkpoint_problems_name_what_a_kill_left_unwritten(tmp_path):
    assert checkpoint_problems(write_checkpoint(tmp_path / "checkpoint-8", 8)) == []
    # Killed in any file: trainer_state.json, written last, is missing or cut short.
    for name in ("model.safetensors", "optimizer.pt", "rng_state.pth", "trainer_state.json"):
        folder = write_checkpoint(tmp_path / name / "checkpoint-8", 8, killed_in=name)
        assert checkpoint_problems(folder) == ["no readable trainer_state.json (it is written last)"], name
    folder = write_checkpoint(tmp_path / "moved" / "checkpoint-8", 4)  # e.g. renamed by hand
    assert checkpoint_problems(folder) == ["trainer_state.json is at step 4, not 8"]
    # The other processes of a distributed run write their RNG states without waiting for trainer_state.json.
    folder = write_checkpoint(tmp_path / "ddp" / "checkpoint-8", 8, processes=2)
    assert checkpoint_problems(folder) == []
    cut_short(folder / "rng_state_1.pth")
    assert checkpoint_problems(folder) == ["rng_state_1.pth is cut short"]
    # A run saving the model only (`save_only_model`) writes no optimizer, scheduler or RNG state.
    folder = write_checkpoint(tmp_path / "model_only" / "checkpoint-8", 8)
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        (folder / name).unlink()
    assert checkpoint_problems(folder) == []


def test_last_complete_checkpoint_passes_over_half_written_ones(tmp_path, caplog):
    from transformers.trainer_utils import get_last_checkpoint

    out = tmp_path / "out"
    for step in (2, 4):
        write_checkpoint(out / f"checkpoint-{step}", step, processes=2)
    write_checkpoint(out / "checkpoint-6", 6, processes=2, killed_in="model.safetensors")
    assert last_complete_checkpoint(out) == str(out / "checkpoint-4")
    cut_short(out / "checkpoint-4" / "rng_state_1.pth")
    (out / "checkpoint-10").mkdir()  # killed right after creating the folder
    (out / "notes").mkdir()
    assert get_last_checkpoint(out) == str(out / "checkpoint-10")  # what the Trainer alone would resume from
    with caplog.at_level("WARNING"):
        assert last_complete_checkpoint(out) == str(out / "checkpoint-2")
    assert "Skipping checkpoint" in caplog.text
    assert "checkpoint-6: incomplete (no readable trainer_state.json (it is written last))" in caplog.text
    assert "checkpoint-4: incomplete (rng_state_1.pth is cut short)" in caplog.text
    assert f"Resuming from {out / 'checkpoint-2'}, the newest complete checkpoint" in caplog.text
    cut_short(out / "checkpoint-2" / "trainer_state.json")
    assert last_complete_checkpoint(out) is None
    (tmp_path / "fresh").mkdir()
    assert last_complete_checkpoint(tmp_path / "fresh") is None


def test_a_run_is_finished_when_its_saved_state_reached_this_runs_end(tmp_path):
    import json

    out = tmp_path / "out"
    out.mkdir()
    assert finished_run(out, None, max_steps=8, num_train_epochs=3) is None
    (out / "trainer_state.json").write_text(json.dumps({"global_step": 8, "epoch": 2.0}))
    done = finished_run(out, None, max_steps=8, num_train_epochs=3)
    assert done == FinishedRun(str(out / "trainer_state.json"), str(out), True, 8)
    assert finished_run(out, None, max_steps=9, num_train_epochs=3) is None
    assert finished_run(out, None, max_steps=-1, num_train_epochs=2) is not None
    assert finished_run(out, None, max_steps=-1, num_train_epochs=2.5) is None
    assert "Training already complete" in done.message(str(out)) and "--overwrite_output_dir" in done.message(str(out))
    # Killed after its last checkpoint, before the final save: finished in the checkpoint, not saved yet.
    (out / "trainer_state.json").write_text(json.dumps({"global_step": 4, "epoch": 1.0}))  # an earlier, shorter run
    last = write_checkpoint(out / "checkpoint-8", 8, best_model_checkpoint="elsewhere/checkpoint-6")
    done = finished_run(out, str(last), max_steps=8, num_train_epochs=3)
    assert (done.saved, done.model_path, done.state_path) == (False, str(last), str(last / "trainer_state.json"))
    assert "its final save, cut short, is completed from" in done.message(str(out))
    # With load_best_model_at_end the model it ends with is the best checkpoint (looked up in this folder).
    best = write_checkpoint(out / "checkpoint-6", 6)
    assert finished_run(out, str(last), max_steps=8, num_train_epochs=3, load_best_model_at_end=True).model_path == str(
        best
    )
    assert finished_run(out, str(last), max_steps=10, num_train_epochs=3) is None


def test_clips_without_a_face_are_counted_and_named_at_the_end_of_the_pass(monkeypatch, caplog):
    """Training on whole frames because the crop found no face must not be silent: the count and a few clip names
    are logged when the pass ends (and are in its metrics)."""
    import torch
    from transformers import Trainer

    from social_mae_hf.training.collator import FACELESS_CLIPS_KEY
    from social_mae_hf.training.trainer import _ClipCounts

    items = [
        {"pixel_values": torch.zeros(2), "labels": 0, "face_found": k % 3 != 0, "clip_source": f"train.csv row {k}"}
        for k in range(9)
    ]
    batches = [SocialMAECollator()(items[i : i + 3]) for i in range(0, 9, 3)]
    assert batches[0][FACELESS_CLIPS_KEY] == ["train.csv row 0"] and "clip_source" not in batches[0]
    monkeypatch.setattr(Trainer, "_prepare_inputs", lambda self, inputs: inputs)
    trainer = SocialMAETrainer.__new__(SocialMAETrainer)
    trainer.missing_files, trainer.clip_counts = {}, _ClipCounts()
    for batch in batches:
        assert set(trainer._prepare_inputs(batch)) == {"pixel_values", "labels"}
    with caplog.at_level("WARNING", logger="social_mae_hf.training.trainer"):
        metrics = trainer._pass_metrics("train", None, trainer.clip_counts)
    assert metrics == {
        "train_skipped_clips": 0,
        "train_missing_files": 0,
        "train_clips_without_face": 3,
        "train_clips_without_face_share": 3 / 9,
    }
    assert "no face in 3 of 9 train clips (33%)" in caplog.text
    assert "train.csv row 0; train.csv row 3; train.csv row 6" in caplog.text
