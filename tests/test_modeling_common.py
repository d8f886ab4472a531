"""The checks transformers runs on its own models (ModelTesterMixin, ConfigTester), written for our four classes.

Config: round trips and the common properties. Models: save/load, batching, determinism, hidden-state and attention
outputs under eager and sdpa, gradient checkpointing, offloading, `dtype` loading, torch.export and compilation,
attention backends, the `get_*_features` contract. Tiny configs keep the file fast on two CPU cores.
"""

import logging
from dataclasses import fields

import pytest
import torch
from conftest import tiny_config, tiny_inputs
from test_modeling import MODEL_CLASSES, build, first_tensor, noise_for
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.modeling_outputs import BaseModelOutputWithPooling

from social_mae_hf import (
    SocialMAEConfig,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEModel,
)
from social_mae_hf.modeling_social_mae import SocialMAEModelOutput

PRETRAINING_KEPT = {"audio": 8, "video": 2}  # tiny config, 32 audio and 8 video tokens, 75% masked


def inputs_for(model, batch=2, seed=0, **given):
    """Both modalities (and fixed masking noise for pretraining), or only the ones named in `given`."""
    inputs = tiny_inputs(model.config, batch=batch, seed=seed)
    if given:
        inputs = {name: inputs[name] for name in given}
    if isinstance(model, SocialMAEForPreTraining):
        inputs.update(noise_for(model.config, batch=batch, seed=seed + 1))
    return inputs


def with_labels(model, inputs):
    """The heads' inputs with targets, so that their loss runs too."""
    if model.config.problem_type == "regression":
        return {**inputs, "labels": torch.linspace(0, 1, 6).reshape(2, 3)}
    if isinstance(model, SocialMAEForAudioVisualClassification):
        return {**inputs, "labels": torch.tensor([0, 2])}
    return inputs


def tensors_of(outputs) -> dict[str, torch.Tensor]:
    """Every tensor of an output, tuples (hidden states, attentions) flattened to `name.i`."""
    flat = {}
    for name, value in outputs.items():
        if isinstance(value, tuple):
            flat.update({f"{name}.{i}": tensor for i, tensor in enumerate(value)})
        else:
            flat[name] = value
    return flat


ALL_OUTPUTS = {"output_hidden_states": True, "output_attentions": True}
BOTH = ("input_values", "pixel_values")
# Every class with both modalities; the encoder and the heads with one (pretraining needs both).
CLASSES_AND_INPUTS = [(model_class, BOTH) for model_class in MODEL_CLASSES] + [
    (model_class, (name,))
    for model_class in MODEL_CLASSES
    if model_class is not SocialMAEForPreTraining
    for name in BOTH
]

# ---- config ------------------------------------------------------------------------------------------------


def test_config_common_properties():
    """ConfigTester's common properties: readable; `num_hidden_layers` derived and read-only, as in FunnelConfig."""
    config = tiny_config(num_modality_layers=3, num_fusion_layers=2)
    assert (config.hidden_size, config.num_attention_heads) == (32, 4)
    assert config.num_hidden_layers == 5
    config.num_fusion_layers = 1
    assert config.num_hidden_layers == 4
    with pytest.raises(NotImplementedError, match="set those instead"):
        config.num_hidden_layers = 6
    with pytest.raises(NotImplementedError, match="`num_modality_layers \\+ num_fusion_layers`"):
        SocialMAEConfig(num_hidden_layers=6)


def test_config_round_trips_without_the_derived_property(tmp_path):
    config = tiny_config(num_modality_layers=3)
    assert "num_hidden_layers" not in config.to_dict()
    assert "num_hidden_layers" not in config.to_diff_dict()
    config.save_pretrained(tmp_path)
    loaded = SocialMAEConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.num_hidden_layers == 4
    assert SocialMAEConfig.from_dict(config.to_dict()).num_hidden_layers == 4
    assert SocialMAEConfig.from_json_file(tmp_path / "config.json").to_dict() == config.to_dict()


# ---- save / load, batching, determinism ----------------------------------------------------------------------


@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_save_load_round_trip_is_bit_exact(model_class, tmp_path):
    model = build(model_class, id2label={0: "calm", 1: "laugh", 2: "smile"})
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    reloaded = model_class.from_pretrained(tmp_path).eval()
    original_state, reloaded_state = model.state_dict(), reloaded.state_dict()
    assert original_state.keys() == reloaded_state.keys()
    for name, tensor in original_state.items():
        assert torch.equal(tensor, reloaded_state[name]), name
    inputs = inputs_for(model)
    with torch.no_grad():
        expected, got = tensors_of(model(**inputs, **ALL_OUTPUTS)), tensors_of(reloaded(**inputs, **ALL_OUTPUTS))
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    assert reloaded.config.id2label == {0: "calm", 1: "laugh", 2: "smile"}


@pytest.mark.parametrize(("model_class", "given"), CLASSES_AND_INPUTS)
def test_batching_equivalence(model_class, given):
    """Each clip's outputs are the same in a batch of 2 as alone (float32 tolerance: the matmuls change shape)."""
    model = build(model_class)
    batch = inputs_for(model, **dict.fromkeys(given))
    with torch.no_grad():
        together = tensors_of(model(**batch, output_hidden_states=True))
        alone = [
            tensors_of(model(**{k: v[i : i + 1] for k, v in batch.items()}, output_hidden_states=True)) for i in (0, 1)
        ]
    per_clip = [name for name, tensor in together.items() if tensor.ndim > 0 and tensor.shape[0] == 2]
    assert "pooler_output" in per_clip or "audio_logits" in per_clip
    for name in per_clip:
        for i in (0, 1):
            torch.testing.assert_close(together[name][i], alone[i][name][0], atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_determinism(model_class):
    model = build(model_class)
    inputs = inputs_for(model)
    with torch.no_grad():
        first, second = tensors_of(model(**inputs, **ALL_OUTPUTS)), tensors_of(model(**inputs, **ALL_OUTPUTS))
    for name in first:
        assert torch.equal(first[name], second[name]), name


# ---- hidden states and attentions ----------------------------------------------------------------------------


def expected_stage_tokens(model, given) -> dict[str, int]:
    config = model.config
    tokens = {"audio": config.num_audio_patches, "video": config.num_video_patches}
    if isinstance(model, SocialMAEForPreTraining):
        tokens = dict(PRETRAINING_KEPT)
    if "input_values" not in given:
        del tokens["audio"]
    if "pixel_values" not in given:
        del tokens["video"]
    tokens["fusion"] = sum(tokens.values())
    return tokens


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize(("model_class", "given"), CLASSES_AND_INPUTS)
def test_hidden_states_and_attentions_per_stage(model_class, given, attn_implementation, caplog):
    model = build(model_class, attn_implementation=attn_implementation)
    config, inputs = model.config, inputs_for(model, **dict.fromkeys(given))
    logging.Logger.warning_once.cache_clear()
    with torch.no_grad(), caplog.at_level(logging.WARNING):
        outputs = model(**inputs, **ALL_OUTPUTS)
    switched = "calls with `output_attentions=True` run eager attention" in caplog.text
    assert switched == (attn_implementation == "sdpa")
    tokens = expected_stage_tokens(model, given)
    batch, width, heads = 2, config.hidden_size, config.num_attention_heads
    stages = {"audio": config.num_modality_layers, "video": config.num_modality_layers}
    stages["fusion"] = config.num_fusion_layers
    for stage, layers in stages.items():
        prefix = "" if stage == "fusion" else f"{stage}_"
        states, attentions = outputs[f"{prefix}hidden_states"], outputs[f"{prefix}attentions"]
        if stage not in tokens:
            assert states == () and attentions == (), stage
            continue
        n = tokens[stage]
        assert len(states) == layers + 1 and len(attentions) == layers, stage
        assert all(s.shape == (batch, n, width) for s in states), stage
        assert all(a.shape == (batch, heads, n, n) for a in attentions), stage
        for probabilities in attentions:
            torch.testing.assert_close(probabilities.sum(-1), torch.ones(batch, heads, n))
    # the shared stage starts from what the modality stages end with
    if len(given) == 2:
        joint = torch.cat((outputs.audio_hidden_states[-1], outputs.video_hidden_states[-1]), dim=1)
        assert torch.equal(outputs.hidden_states[0], joint)


def test_sdpa_gives_the_eager_attentions_and_the_same_states():
    eager, sdpa = build(SocialMAEModel, attn_implementation="eager"), build(SocialMAEModel)
    assert sdpa.config._attn_implementation == "sdpa"
    inputs = inputs_for(eager)
    with torch.no_grad():
        expected = tensors_of(eager(**inputs, **ALL_OUTPUTS))
        got = tensors_of(sdpa(**inputs, **ALL_OUTPUTS))  # eager attention for this call
        plain = tensors_of(sdpa(**inputs, output_hidden_states=True))  # sdpa attention
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    for name in plain:
        torch.testing.assert_close(plain[name], expected[name], atol=1e-5, rtol=1e-5, msg=name)


def test_outputs_asked_for_through_the_config_and_as_a_tuple():
    model = build(SocialMAEModel, output_hidden_states=True)
    inputs = inputs_for(model)
    with torch.no_grad():
        outputs = model(**inputs)
        as_tuple = model(**inputs, return_dict=False)
    assert len(outputs.hidden_states) == 2 and len(outputs.audio_hidden_states) == 3
    assert outputs.attentions is None
    declared = [field.name for field in fields(SocialMAEModelOutput) if outputs.get(field.name) is not None]
    assert list(outputs.keys()) == declared
    assert isinstance(as_tuple, tuple) and len(as_tuple) == len(declared)
    assert torch.equal(as_tuple[0], outputs.last_hidden_state)
    assert torch.equal(as_tuple[declared.index("hidden_states")][0], outputs.hidden_states[0])


def test_average_fusion_records_both_passes_through_the_shared_layers():
    model = build(SocialMAEModel, single_modality_strategy="average_fusion", attn_implementation="eager")
    audio = inputs_for(model)["input_values"]
    with torch.no_grad():
        outputs = model(input_values=audio, **ALL_OUTPUTS)
        joint = model.encoder.fusion_layers[0](outputs.audio_last_hidden_state)
        specific = model.encoder.fusion_layers[0](outputs.audio_last_hidden_state, modality="audio")
    assert len(outputs.hidden_states) == 3 and len(outputs.attentions) == 2
    assert torch.equal(outputs.hidden_states[1], joint) and torch.equal(outputs.hidden_states[2], specific)


# ---- get_audio_features / get_video_features ------------------------------------------------------------------


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("modality", ["audio", "video"])
def test_get_features_returns_the_modality_path(modality, attn_implementation):
    """CLIP / CLAP's contract: a BaseModelOutputWithPooling whose pooler_output is the retrieval embedding."""
    model = build(SocialMAEModel, single_modality_strategy="average_fusion", attn_implementation=attn_implementation)
    with torch.no_grad():  # fresh LayerNorms are all identity, which would make joint and modality passes equal
        for name, parameter in model.named_parameters():
            if "layernorm" in name:
                parameter.add_(0.3 * torch.randn_like(parameter))
    config = model.config
    argument = "input_values" if modality == "audio" else "pixel_values"
    values = inputs_for(model)[argument]
    get_features = getattr(model, f"get_{modality}_features")
    with torch.no_grad():
        features = get_features(values)
        detailed = get_features(values, **ALL_OUTPUTS)
        as_tuple = get_features(values, return_dict=False)
        plain_path = model(**{argument: values}, single_modality_strategy="modality_specific")
        path = model(**{argument: values}, single_modality_strategy="modality_specific", **ALL_OUTPUTS)
    assert type(features) is BaseModelOutputWithPooling
    assert features.hidden_states is None and features.attentions is None
    assert torch.equal(features.pooler_output, plain_path.pooler_output)
    assert torch.equal(features.last_hidden_state, plain_path.last_hidden_state)
    assert torch.equal(detailed.pooler_output, path.pooler_output)
    torch.testing.assert_close(features.pooler_output, features.last_hidden_state.mean(1))
    assert len(detailed.hidden_states) == config.num_hidden_layers + 1
    assert len(detailed.attentions) == config.num_hidden_layers
    stage = path[f"{modality}_hidden_states"]
    for got, expected in zip(detailed.hidden_states, stage + path.hidden_states[1:], strict=True):
        assert torch.equal(got, expected)
    for got, expected in zip(detailed.attentions, path[f"{modality}_attentions"] + path.attentions, strict=True):
        assert torch.equal(got, expected)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2
    assert torch.equal(as_tuple[0], features.last_hidden_state) and torch.equal(as_tuple[1], features.pooler_output)
    # the config's average_fusion applies to forward, not to the retrieval features
    with torch.no_grad():
        assert not torch.allclose(model(**{argument: values}).pooler_output, features.pooler_output)


# ---- gradient checkpointing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("use_reentrant", [False, True])
@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_gradient_checkpointing_gives_the_same_gradients(model_class, use_reentrant):
    def run(checkpointing: bool) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        model = build(model_class).train()
        if checkpointing:
            model.activation_checkpointing_enable({"use_reentrant": use_reentrant})
            assert all(
                layer.gradient_checkpointing for layer in model.modules() if hasattr(layer, "gradient_checkpointing")
            )
        inputs = with_labels(model, inputs_for(model))
        outputs = model(**inputs, output_hidden_states=True)
        loss = outputs.loss if "loss" in outputs else outputs.last_hidden_state.square().mean()
        loss.backward()
        states = {k: v.detach() for k, v in tensors_of(outputs).items()}
        return states, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    (plain_out, plain), (checkpointed_out, checkpointed) = run(False), run(True)
    assert plain_out.keys() == checkpointed_out.keys()
    for name in plain_out:
        torch.testing.assert_close(checkpointed_out[name], plain_out[name], atol=1e-6, rtol=1e-5, msg=name)
    assert plain.keys() == checkpointed.keys()
    assert len(plain) > 50
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-6, rtol=1e-5, msg=name)


# ---- offloading and dtype ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_offloading_to_disk_gives_the_same_outputs(model_class, tmp_path):
    """device_map="auto" with a memory budget smaller than the model: accelerate's hooks load each module's weights
    around its `forward`, so no parameter may be used outside one (embeddings, mask token)."""
    model = build(model_class)
    model.save_pretrained(tmp_path / "model")
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    inputs = inputs_for(model)
    with torch.no_grad():
        expected = tensors_of(model(**inputs))
    for budget, devices in ((size // 3, {"disk"}), (size * 2 // 3, {"cpu", "disk"})):
        offloaded = model_class.from_pretrained(
            tmp_path / "model",
            device_map="auto",
            max_memory={"cpu": budget},
            offload_folder=tmp_path / f"offload-{budget}",
        )
        assert set(offloaded.hf_device_map.values()) == devices
        with torch.no_grad():
            got = tensors_of(offloaded(**inputs))
        for name in expected:
            assert torch.equal(got[name], expected[name]), name


@pytest.mark.parametrize(("dtype", "atol"), [(torch.bfloat16, 0.15), (torch.float16, 0.02)])
@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_loading_in_half_precision(model_class, dtype, atol, tmp_path):
    """`from_pretrained(dtype=...)` gives that dtype, and float32 features (what the processor makes) still run."""
    model = build(model_class)
    model.save_pretrained(tmp_path)
    half = model_class.from_pretrained(tmp_path, dtype=dtype).eval()
    assert half.dtype == dtype and all(p.dtype == dtype for p in half.parameters())
    inputs = inputs_for(model)
    with torch.no_grad():
        expected, got = model(**inputs), half(**inputs)
    if model_class is SocialMAEForPreTraining:  # its losses compare with float32 targets: float32
        got, expected = got.audio_logits, expected.audio_logits
    else:
        got, expected = first_tensor(got), first_tensor(expected)
    assert got.dtype == dtype
    torch.testing.assert_close(got.float(), expected, atol=atol, rtol=0.05)
    with torch.no_grad():
        assert half.get_input_embeddings()(inputs["pixel_values"]).dtype == dtype


# ---- export, compilation, attention backends ---------------------------------------------------------------


def test_torch_export_of_the_encoder():
    model = build(SocialMAEModel)
    inputs = inputs_for(model)
    exported = torch.export.export(model, args=(), kwargs=inputs)
    with torch.no_grad():
        expected = model(**inputs)
        got = exported.module()(**inputs)
    torch.testing.assert_close(got["last_hidden_state"], expected.last_hidden_state, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got["pooler_output"], expected.pooler_output, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("model_class", "given"), [*CLASSES_AND_INPUTS[:4], (SocialMAEModel, ("input_values",))])
def test_compiles_without_graph_breaks(model_class, given):
    """`_can_compile_fullgraph`: dynamo traces the forward, losses included, in one graph (the eager backend skips
    code generation)."""
    model = build(model_class, num_modality_layers=1)  # tracing time grows with depth
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    inputs = with_labels(model, inputs_for(model, **dict.fromkeys(given)))
    with torch.no_grad():
        expected, got = tensors_of(model(**inputs)), tensors_of(compiled(**inputs))
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=1e-6, rtol=1e-6, msg=name)


def test_flex_attention_matches_eager():
    """`_supports_flex_attn`. Run inside a graph, where transformers calls flex attention's reference implementation
    directly (seconds), rather than its inductor kernel (a C++ build of half a minute per shape here). That kernel is
    torch's: on CPU, torch 2.13's gives wrong numbers for head dimensions of 16 and below (checked against sdpa
    directly) and right ones for the released models' 64 (encoder) and 32 (decoder)."""
    eager = build(SocialMAEModel, num_modality_layers=1)
    flex = build(SocialMAEModel, num_modality_layers=1)
    flex.set_attn_implementation("flex_attention")
    assert flex.config._attn_implementation == "flex_attention"
    compiled = torch.compile(flex, fullgraph=True, backend="eager")
    inputs = inputs_for(eager)
    with torch.no_grad():
        expected, got = eager(**inputs), compiled(**inputs)
    torch.testing.assert_close(got.last_hidden_state, expected.last_hidden_state, atol=1e-5, rtol=1e-5)


def test_a_registered_attention_function_gets_the_forward_kwargs():
    """`_supports_attention_backend`: a backend's own attention function is used and receives the call's kwargs."""
    calls = []

    def recording_sdpa(module, query, key, value, attention_mask, **kwargs):
        calls.append((query.shape[2], kwargs.get("backend_tag")))
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)

    AttentionInterface.register("recording_sdpa", recording_sdpa)
    reference = build(SocialMAEModel)
    model = build(SocialMAEModel, attn_implementation="recording_sdpa")
    inputs = inputs_for(model)
    with torch.no_grad():
        got = model(**inputs, backend_tag="tag").last_hidden_state
        expected = reference(**inputs).last_hidden_state
    assert torch.equal(got, expected)
    assert calls == [(32, "tag"), (32, "tag"), (8, "tag"), (8, "tag"), (40, "tag")]
