"""Model behaviour beyond parity: eager/sdpa agreement, Auto classes, inputs, init, losses (the common checks,
save/load and gradient checkpointing among them, are in test_modeling_common.py)."""

import math

import numpy as np
import pytest
import torch
from conftest import tiny_config, tiny_inputs
from safetensors.torch import load_file
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from transformers import AutoConfig, AutoModel, AutoModelForPreTraining

from social_mae_hf import (
    AutoModelForAudioVisualClassification,
    SocialMAEConfig,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
)
from social_mae_hf.modeling_social_mae import sincos_2d, video_sincos

MODEL_CLASSES = [SocialMAEModel, SocialMAEForPreTraining, SocialMAEForAudioVisualClassification, SocialMAEForRegression]


def build(model_class, seed=0, **config_overrides):
    torch.manual_seed(seed)
    return model_class(tiny_config(**config_overrides)).eval()


def noise_for(config, batch=2, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return {
        "audio_noise": torch.rand(batch, config.num_audio_patches, generator=generator),
        "video_noise": torch.rand(batch, config.num_video_patches, generator=generator),
    }


def first_tensor(outputs):
    for name in ("loss", "logits", "last_hidden_state"):
        if outputs.get(name) is not None:
            return outputs[name]
    raise AssertionError("no output tensor")


# ---- attention implementations -----------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_eager_and_sdpa_agree(model_class, tmp_path):
    model = build(model_class)
    model.save_pretrained(tmp_path)
    eager = model_class.from_pretrained(tmp_path, attn_implementation="eager").eval()
    sdpa = model_class.from_pretrained(tmp_path, attn_implementation="sdpa").eval()
    assert eager.config._attn_implementation == "eager"
    assert sdpa.config._attn_implementation == "sdpa"
    inputs = tiny_inputs(model.config)
    extra = noise_for(model.config) if model_class is SocialMAEForPreTraining else {}
    with torch.no_grad():
        for given in (inputs, {"input_values": inputs["input_values"]}, {"pixel_values": inputs["pixel_values"]}):
            if model_class is SocialMAEForPreTraining and len(given) == 1:
                continue
            a, b = eager(**given, **extra), sdpa(**given, **extra)
            torch.testing.assert_close(first_tensor(a), first_tensor(b), atol=1e-5, rtol=1e-5)


# ---- save / load -------------------------------------------------------------------------------------------


def test_auto_classes_resolve_every_head(tmp_path):
    config = tiny_config()
    assert type(AutoConfig.for_model("social-mae")) is SocialMAEConfig
    assert type(AutoModel.from_config(config)) is SocialMAEModel
    assert type(AutoModelForPreTraining.from_config(config)) is SocialMAEForPreTraining
    assert type(AutoModelForAudioVisualClassification.from_config(config)) is SocialMAEForAudioVisualClassification
    build(SocialMAEForPreTraining).save_pretrained(tmp_path)
    encoder = AutoModel.from_pretrained(tmp_path)
    pretraining = SocialMAEForPreTraining.from_pretrained(tmp_path)
    for name, tensor in encoder.state_dict().items():
        assert torch.equal(tensor, pretraining.social_mae.state_dict()[name]), name


def test_classifier_from_a_pretraining_folder_keeps_the_encoder(tmp_path):
    pretraining = build(SocialMAEForPreTraining)
    pretraining.save_pretrained(tmp_path)
    classifier = SocialMAEForAudioVisualClassification.from_pretrained(tmp_path, num_labels=4)
    for name, tensor in pretraining.social_mae.state_dict().items():
        assert torch.equal(tensor, classifier.social_mae.state_dict()[name]), name
    assert classifier.classifier.dense.weight.shape == (4, 32)
    assert torch.equal(classifier.classifier.dense.bias, torch.zeros(4))


def test_pretraining_uses_every_parameter():
    """No dead weights: DDP runs without searching for unused parameters."""
    model = build(SocialMAEForPreTraining).train()
    model(**tiny_inputs(model.config)).loss.backward()
    unused = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert unused == []


def test_position_embeddings_can_be_frozen():
    model = build(SocialMAEForPreTraining, trainable_position_embeddings=False)
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    assert sorted(frozen) == sorted(
        [
            "social_mae.embeddings.audio_position_embeddings",
            "social_mae.embeddings.video_position_embeddings",
            "decoder.audio_position_embeddings",
            "decoder.video_position_embeddings",
        ]
    )


# ---- inputs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_values": torch.zeros(2, 48, 128)}, r"`input_values` must have shape \(batch, 64 audio frames, 128"),
        ({"input_values": torch.zeros(2, 128, 64)}, r"got \(2, 128, 64\)"),
        ({"pixel_values": torch.zeros(2, 8, 3, 32, 32)}, "has 8 frames but this model takes 4"),
        ({"pixel_values": torch.zeros(2, 4, 32, 32, 3)}, "has 32 channels but this model takes 3"),
        ({"pixel_values": torch.zeros(2, 4, 3, 64, 64)}, "frames are 64x64 but this model takes 32x32"),
        ({"pixel_values": torch.zeros(2, 3, 32, 32)}, r"must have shape \(batch, frames, channels"),
        ({"pixel_values": torch.zeros(3, 4, 3, 32, 32)}, "Batch sizes differ"),
    ],
)
def test_bad_shapes_are_explained(change, message):
    model = build(SocialMAEModel)
    inputs = {**tiny_inputs(model.config), **change}
    with pytest.raises(ValueError, match=message):
        model(**inputs)


class _RefuseHostSyncs(TorchDispatchMode):
    """Fails on any op whose result the host must wait for: `.item()`, `bool(tensor)`, `torch.equal`, `nonzero`,
    `unique`, ... (torch tags them), i.e. what would stall a GPU in the middle of a forward."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if torch.Tag.data_dependent_output in func.tags or torch.Tag.dynamic_output_shape in func.tags:
            raise AssertionError(f"host sync in the forward: {func}")
        return func(*args, **(kwargs or {}))


def test_the_sync_detector_catches_item_and_bool():
    values = torch.randn(3)
    for sync in (lambda: values.sum().item(), lambda: bool(torch.isfinite(values).all()), lambda: values.nonzero()):
        with pytest.raises(AssertionError, match="host sync"), _RefuseHostSyncs():
            sync()


@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_forward_and_backward_never_wait_for_the_device(model_class):
    """No data-dependent checks (`.item()`, `bool(tensor)`) in the hot path, inputs and labels included."""
    model = build(model_class).train()
    inputs = tiny_inputs(model.config)
    if model_class is SocialMAEForRegression:
        inputs["labels"] = torch.rand(2, 3)
    elif model_class is SocialMAEForAudioVisualClassification:
        inputs["labels"] = torch.tensor([2, 0])
    with _RefuseHostSyncs():
        outputs = model(**inputs, output_hidden_states=True, output_attentions=True)
        first_tensor(outputs).sum().backward()
        if model_class is not SocialMAEForPreTraining:
            model(input_values=inputs["input_values"])
            model(pixel_values=inputs["pixel_values"])


def test_labels_out_of_range_are_refused_by_the_loss():
    model = build(SocialMAEForAudioVisualClassification)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        model(**tiny_inputs(model.config), labels=torch.tensor([3, 0]))


def test_missing_inputs_and_bad_noise_are_refused():
    model = build(SocialMAEForPreTraining)
    inputs = tiny_inputs(model.config)
    with pytest.raises(ValueError, match="Pass `input_values`"):
        build(SocialMAEModel)()
    with pytest.raises(ValueError, match="Pretraining needs both"):
        model(input_values=inputs["input_values"])
    with pytest.raises(ValueError, match=r"`video_noise` must have shape \(batch, tokens\) = \(2, 8\)"):
        model(**inputs, video_noise=torch.rand(2, 15))


def test_return_dict_false_gives_a_tuple():
    model = build(SocialMAEForAudioVisualClassification)
    outputs = model(**tiny_inputs(model.config), return_dict=False)
    assert isinstance(outputs, tuple)
    assert outputs[0].shape == (2, 3)


# ---- behaviour ---------------------------------------------------------------------------------------------


def test_single_modality_strategies_differ_and_average_is_the_mean_of_both_passes():
    model = build(SocialMAEModel)
    with torch.no_grad():  # fresh LayerNorms are all identity, which would make both passes equal
        for name, parameter in model.named_parameters():
            if "layernorm" in name:
                parameter.add_(0.3 * torch.randn_like(parameter))
    audio = tiny_inputs(model.config)["input_values"]
    with torch.no_grad():
        specific = model(input_values=audio).last_hidden_state
        model.config.single_modality_strategy = "average_fusion"
        averaged = model(input_values=audio).last_hidden_state
        hidden = model.encoder.encode_modality(model.embeddings(input_values=audio).audio, "audio")
        joint = model.encoder.layernorm(model.encoder.fusion_layers[0](hidden))
    assert not torch.allclose(specific, averaged)
    torch.testing.assert_close(averaged, (joint + specific) / 2)


def test_masking_keeps_the_configured_share_and_noise_decides_which():
    model = build(SocialMAEForPreTraining, audio_mask_ratio=0.5, video_mask_ratio=0.75)
    inputs, noise = tiny_inputs(model.config), noise_for(model.config)
    outputs = model(**inputs, **noise)
    assert outputs.audio_mask.sum(1).tolist() == [16, 16]
    assert outputs.video_mask.sum(1).tolist() == [6, 6]
    kept_audio = noise["audio_noise"].argsort(1)[:, :16]
    assert torch.equal(outputs.audio_mask.gather(1, kept_audio), torch.zeros(2, 16))
    assert outputs.last_hidden_state.shape == (2, 16 + 2, 32)
    again = model(**inputs, **noise)
    assert torch.equal(outputs.loss, again.loss)
    other = model(**inputs, audio_mask_ratio=0.25)
    assert other.audio_mask.sum(1).tolist() == [8, 8]


def test_contrastive_loss_weights_and_directions():
    config_kwargs = {"contrastive_loss_weight": 0.5}
    one_way = build(SocialMAEForPreTraining, **config_kwargs)
    inputs, noise = tiny_inputs(one_way.config, batch=4), noise_for(one_way.config, batch=4)
    out = one_way(**inputs, **noise)
    audio = torch.nn.functional.normalize(out.audio_contrastive_tokens.mean(1), dim=-1)
    video = torch.nn.functional.normalize(out.video_contrastive_tokens.mean(1), dim=-1)
    similarity = audio @ video.T / 0.05
    expected = -torch.diagonal(similarity.log_softmax(dim=0)).mean()
    torch.testing.assert_close(out.contrastive_loss, 0.5 * expected)
    torch.testing.assert_close(out.loss, out.reconstruction_loss + out.contrastive_loss)
    symmetric = build(SocialMAEForPreTraining, contrastive_direction="symmetric", **config_kwargs)
    out_sym = symmetric(**inputs, **noise)
    reverse = -torch.diagonal(similarity.T.log_softmax(dim=0)).mean()
    torch.testing.assert_close(out_sym.contrastive_loss, 0.5 * (expected + reverse) / 2)


def test_zero_loss_weights_skip_their_branch():
    model = build(SocialMAEForPreTraining, contrastive_loss_weight=0.0)
    out = model(**tiny_inputs(model.config))
    assert out.contrastive_accuracy is None and out.contrastive_loss.item() == 0.0
    torch.testing.assert_close(out.loss, out.audio_reconstruction_loss + out.video_reconstruction_loss)


def test_norm_pix_loss_normalises_each_target_patch():
    model = build(SocialMAEForPreTraining, norm_pix_loss=True, contrastive_loss_weight=0.0)
    inputs, noise = tiny_inputs(model.config), noise_for(model.config)
    out = model(**inputs, **noise)
    target = model.patchify_audio(inputs["input_values"])
    target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6) ** 0.5
    per_patch = ((out.audio_logits - target) ** 2).mean(-1)
    expected = (per_patch * out.audio_mask).sum() / out.audio_mask.sum()
    torch.testing.assert_close(out.audio_reconstruction_loss, expected)


# ---- patches -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True])
def test_patchify_round_trips(legacy):
    model = build(SocialMAEForPreTraining)
    inputs = tiny_inputs(model.config)
    audio_patches = model.patchify_audio(inputs["input_values"])
    assert audio_patches.shape == (2, 32, 256)
    assert torch.equal(model.unpatchify_audio(audio_patches), inputs["input_values"])
    video_patches = model.patchify_video(inputs["pixel_values"], legacy_order=legacy)
    assert video_patches.shape == (2, 8, 2 * 16 * 16 * 3)
    assert torch.equal(model.unpatchify_video(video_patches, legacy_order=legacy), inputs["pixel_values"])


def test_video_patches_follow_the_encoder_token_order():
    """Token i of the (non-legacy) target is the tubelet the patch embedding turns into token i."""
    model = build(SocialMAEForPreTraining)
    pixels = tiny_inputs(model.config)["pixel_values"]
    patches = model.patchify_video(pixels, legacy_order=False)
    projection = model.social_mae.embeddings.video_patch_embeddings.projection
    # the kernel is (channels, row, column, time); our patch vector is (time, row, column, channel)
    weight = projection.weight.permute(0, 4, 2, 3, 1).reshape(projection.out_channels, -1)
    tokens = model.social_mae.embeddings.video_patch_embeddings(pixels)
    torch.testing.assert_close(patches @ weight.T + projection.bias, tokens, atol=1e-5, rtol=1e-5)
    legacy = model.patchify_video(pixels, legacy_order=True)
    assert not torch.equal(legacy, patches)
    # legacy = the same patches listed time-first: (h, w, t) -> (t, h, w)
    torch.testing.assert_close(legacy, patches.reshape(2, 2, 2, 2, -1).permute(0, 3, 1, 2, 4).reshape(2, 8, -1))


def test_audio_patches_follow_the_encoder_token_order():
    model = build(SocialMAEForPreTraining)
    audio = tiny_inputs(model.config)["input_values"]
    projection = model.social_mae.embeddings.audio_patch_embeddings.projection
    tokens = model.social_mae.embeddings.audio_patch_embeddings(audio)
    patches = model.patchify_audio(audio)
    torch.testing.assert_close(patches @ projection.weight.reshape(32, -1).T + projection.bias, tokens)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_patch_embeddings_are_the_convolutions_with_contiguous_tokens(dtype):
    """The embeddings compute the originals' stride-kernel convolutions as one matmul: same tokens, in (B, N, D)
    memory order (the convolution's transposed output made every later layer norm copy its input)."""
    model = build(SocialMAEModel).to(dtype)
    inputs = {k: v.to(dtype) for k, v in tiny_inputs(model.config).items()}
    embeddings = model.embeddings
    audio_conv = embeddings.audio_patch_embeddings.projection
    video_conv = embeddings.video_patch_embeddings.projection
    with torch.no_grad():
        audio = embeddings.audio_patch_embeddings(inputs["input_values"])
        video = embeddings.video_patch_embeddings(inputs["pixel_values"])
        image = inputs["input_values"].unsqueeze(1).transpose(2, 3)
        expected_audio = nn.functional.conv2d(image, audio_conv.weight, audio_conv.bias, stride=audio_conv.stride)
        clip = inputs["pixel_values"].permute(0, 2, 3, 4, 1)
        expected_video = nn.functional.conv3d(clip, video_conv.weight, video_conv.bias, stride=video_conv.stride)
        expected_audio = expected_audio.flatten(2).transpose(1, 2)
        expected_video = expected_video.flatten(2).transpose(1, 2)
    tolerance = {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {"atol": 0.05, "rtol": 0.02}
    torch.testing.assert_close(audio, expected_audio, **tolerance)
    torch.testing.assert_close(video, expected_video, **tolerance)
    assert audio.is_contiguous() and video.is_contiguous()
    assert audio.dtype == video.dtype == dtype


def test_single_frame_orders_coincide():
    model = build(SocialMAEForPreTraining, num_frames=1, tubelet_size=1)
    pixels = tiny_inputs(model.config)["pixel_values"]
    assert torch.equal(model.patchify_video(pixels, legacy_order=True), model.patchify_video(pixels))


# ---- initialisation ----------------------------------------------------------------------------------------


def mae_sincos_reference(embed_dim: int, grid_h: int, grid_w: int) -> np.ndarray:
    """MAE's published formula, written independently: first half encodes the column, second the row."""

    def one_axis(dim, positions):
        omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
        angles = np.outer(positions.reshape(-1), omega)
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    cols, rows = np.meshgrid(np.arange(grid_w), np.arange(grid_h))
    return np.concatenate([one_axis(embed_dim // 2, cols), one_axis(embed_dim // 2, rows)], axis=1)


def test_sincos_uses_the_correct_formula():
    ours = sincos_2d(64, 8, 4).numpy()
    np.testing.assert_allclose(ours, mae_sincos_reference(64, 8, 4), atol=1e-12)
    # both axes are encoded (the Social-MAE copy encoded one axis twice)
    assert not np.allclose(ours[:, :32], ours[:, 32:])
    # token f * T + t: moving in time changes the first half only
    assert np.allclose(ours[0, 32:], ours[1, 32:]) and not np.allclose(ours[0, :32], ours[1, :32])


def test_video_positions_encode_space_and_time():
    table = video_sincos(32, 2, 4)  # 2x2 patches, 4 tubelets, time fastest
    assert table.shape == (16, 32)
    assert len({tuple(row.tolist()) for row in table}) == 16
    torch.testing.assert_close(table[0::4, :24], sincos_2d(24, 2, 2))  # spatial part, per time step 0
    assert torch.equal(table[0, :24], table[3, :24])  # same place, later time: same spatial code
    assert torch.equal(video_sincos(32, 2, 1), sincos_2d(32, 2, 2))  # one frame: CAV-MAE's table


def test_fresh_model_follows_the_originals_init():
    model = build(SocialMAEForPreTraining)
    embeddings = model.social_mae.embeddings
    expected = torch.from_numpy(mae_sincos_reference(32, 8, 4)).float()
    torch.testing.assert_close(embeddings.audio_position_embeddings[0], expected)
    layer = model.social_mae.encoder.fusion_layers[0]
    assert torch.equal(layer.video_layernorm_after.weight, torch.ones(32))
    assert torch.equal(layer.attention.qkv.bias, torch.zeros(96))
    bound = math.sqrt(6 / (32 + 96))  # xavier-uniform of the fused qkv matrix
    assert layer.attention.qkv.weight.abs().max() <= bound
    assert layer.attention.qkv.weight.abs().max() > 0.9 * bound
    big = build(SocialMAEModel, hidden_size=256, num_attention_heads=4, intermediate_size=512)
    std = big.embeddings.audio_modality_embedding.std().item()
    assert 0.015 < std < 0.025


def test_init_is_not_reapplied_to_loaded_weights(tmp_path):
    model = build(SocialMAEForPreTraining)
    with torch.no_grad():
        model.social_mae.embeddings.audio_position_embeddings.fill_(3.0)
        model.decoder.mask_token.fill_(-2.0)
    model.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert stored["decoder.mask_token"].eq(-2.0).all()
    reloaded = SocialMAEForPreTraining.from_pretrained(tmp_path)
    assert reloaded.social_mae.embeddings.audio_position_embeddings.eq(3.0).all()
    assert reloaded.decoder.mask_token.eq(-2.0).all()


# ---- heads and losses --------------------------------------------------------------------------------------


def test_classification_losses():
    model = build(SocialMAEForAudioVisualClassification)
    inputs = tiny_inputs(model.config)
    labels = torch.tensor([2, 0])
    out = model(**inputs, labels=labels)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    assert model.config.problem_type == "single_label_classification"
    multi = build(SocialMAEForAudioVisualClassification, problem_type="multi_label_classification")
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    out = multi(**inputs, labels=targets)
    torch.testing.assert_close(out.loss, torch.nn.functional.binary_cross_entropy_with_logits(out.logits, targets))


def test_single_label_classification_takes_soft_targets():
    """Mixup's class probabilities are soft-target cross-entropy, not multi-label BCE, once the problem is single-label."""
    model = build(SocialMAEForAudioVisualClassification, problem_type="single_label_classification")
    inputs = tiny_inputs(model.config)
    soft = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.4, 0.6]])
    out = model(**inputs, labels=soft)
    log_probs = torch.log_softmax(out.logits, dim=-1)
    torch.testing.assert_close(out.loss, -(soft * log_probs).sum(-1).mean())
    one_hot = torch.nn.functional.one_hot(torch.tensor([2, 0]), 3).float()
    torch.testing.assert_close(model(**inputs, labels=one_hot).loss, model(**inputs, labels=torch.tensor([2, 0])).loss)
    assert model.config.problem_type == "single_label_classification"
    with pytest.raises(ValueError, match=r"class probabilities of shape \(2, 3\)"):
        model(**inputs, labels=torch.rand(2, 4))


@pytest.mark.parametrize("model_class", MODEL_CLASSES[1:])
def test_trainer_scales_the_loss_for_accumulation_and_devices(model_class, tmp_path):
    """The losses are batch means: the Trainer must not treat them as token sums (it would, seeing `**kwargs`)."""
    from transformers import Trainer, TrainingArguments

    model = build(model_class)
    args = TrainingArguments(str(tmp_path), report_to="none", use_cpu=True)
    assert Trainer(model=model, args=args).model_accepts_loss_kwargs is False


@pytest.mark.parametrize("model_class", [SocialMAEForAudioVisualClassification, SocialMAEForRegression])
def test_regression_follows_problem_type(model_class):
    """L1 (the paper's) by default, MSE when `regression_loss="mse"`, whichever class carries the head."""
    model = build(model_class, num_labels=5, problem_type="regression")
    inputs = tiny_inputs(model.config)
    targets = torch.rand(2, 5)
    out = model(**inputs, labels=targets)
    torch.testing.assert_close(out.loss, (out.logits - targets).abs().mean())
    mse = build(model_class, num_labels=5, problem_type="regression", regression_loss="mse")
    out = mse(**inputs, labels=targets)
    torch.testing.assert_close(out.loss, ((out.logits - targets) ** 2).mean())
    with pytest.raises(ValueError, match=r"must have shape \(2, 5\)"):
        model(**inputs, labels=torch.rand(2, 4))


def test_regression_class_sets_the_problem_type_and_refuses_another():
    assert build(SocialMAEForRegression, num_labels=5).config.problem_type == "regression"
    assert issubclass(SocialMAEForRegression, SocialMAEForAudioVisualClassification)
    with pytest.raises(ValueError, match="problem_type='regression'"):
        build(SocialMAEForRegression, problem_type="single_label_classification")


def test_regression_folder_saved_without_the_loss_setting_loads_with_the_same_outputs(tmp_path):
    """A folder saved as `SocialMAEForRegression` by an older version (no `regression_loss` key) loads through the
    Auto class and both heads, with the same outputs and the paper's L1 loss."""
    import json

    model = build(SocialMAEForRegression, num_labels=5)
    model.save_pretrained(tmp_path)
    config_file = tmp_path / "config.json"
    saved = json.loads(config_file.read_text())
    assert saved["architectures"] == ["SocialMAEForRegression"]
    saved.pop("regression_loss")
    config_file.write_text(json.dumps(saved))
    inputs, targets = tiny_inputs(model.config), torch.rand(2, 5)
    with torch.no_grad():
        expected = model(**inputs, labels=targets)
        for loaded in (
            AutoModelForAudioVisualClassification.from_pretrained(tmp_path),
            SocialMAEForRegression.from_pretrained(tmp_path),
            SocialMAEForAudioVisualClassification.from_pretrained(tmp_path),
        ):
            out = loaded.eval()(**inputs, labels=targets)
            assert loaded.config.problem_type == "regression"
            assert torch.equal(out.logits, expected.logits)
            torch.testing.assert_close(out.loss, (out.logits - targets).abs().mean())
    assert type(AutoModelForAudioVisualClassification.from_pretrained(tmp_path)) is SocialMAEForRegression


def test_a_plain_trainer_gets_the_logits_as_predictions(tmp_path):
    """A user's own `Trainer` with a standard `compute_metrics` (argmax over the predictions) runs."""
    from torch.utils.data import Dataset
    from transformers import Trainer, TrainingArguments

    class Clips(Dataset):
        def __init__(self, config, count=6):
            inputs = tiny_inputs(config, batch=count)
            self.rows = [
                {"input_values": inputs["input_values"][i], "pixel_values": inputs["pixel_values"][i], "labels": i % 3}
                for i in range(count)
            ]

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, index):
            return self.rows[index]

    seen = {}

    def compute_metrics(prediction):
        seen["predictions"] = prediction.predictions
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

    model = build(SocialMAEForAudioVisualClassification)
    args = TrainingArguments(
        str(tmp_path), per_device_eval_batch_size=4, num_train_epochs=1, report_to="none", use_cpu=True
    )
    trainer = Trainer(
        model,
        args,
        train_dataset=Clips(model.config),
        eval_dataset=Clips(model.config),
        compute_metrics=compute_metrics,
    )
    trainer.train()
    metrics = trainer.evaluate()
    assert isinstance(seen["predictions"], np.ndarray) and seen["predictions"].shape == (6, 3)
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    with torch.no_grad():
        expected = model.eval()(
            **{k: torch.stack([row[k] for row in Clips(model.config).rows]) for k in ("input_values", "pixel_values")}
        )
    np.testing.assert_allclose(seen["predictions"], expected.logits.numpy(), atol=1e-5, rtol=1e-5)


def test_pooler_output_is_the_token_mean():
    model = build(SocialMAEModel)
    out = model(**tiny_inputs(model.config))
    torch.testing.assert_close(out.pooler_output, out.last_hidden_state.mean(1))
    assert out.last_hidden_state.shape == (2, 32 + 8, 32)


@pytest.mark.parametrize("model_class", [SocialMAEConfig, SocialMAEModel, SocialMAEForAudioVisualClassification])
def test_a_missing_local_folder_is_said_to_be_one(model_class, tmp_path, monkeypatch):
    """Not an HFValidationError about repo ids, nor a download attempt: the folder the user named does not exist.
    (`AutoModel.from_pretrained` reads the config through transformers' own code before knowing our classes, so
    only our classes can say this without patching transformers.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("./missing-folder", str(tmp_path / "missing"), tmp_path / "missing", "../missing-folder"):
        with pytest.raises(FileNotFoundError, match=r"no such local folder \(/"):
            model_class.from_pretrained(name)
    build(SocialMAEModel).save_pretrained(tmp_path / "saved")
    assert type(model_class.from_pretrained("./saved")) is model_class
