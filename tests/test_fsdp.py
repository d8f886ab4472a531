"""transformers' FSDP2 path (`from_pretrained(..., distributed_config=DistributedConfig(fsdp_size=2))`) on two CPU
processes over gloo, in the manner of transformers' `tests/test_fsdp_mixin.py`: which modules become FSDP units,
that each rank holds about half the parameters, that a few FSDP2 steps give DDP's weights, and that a sharded model
saves a plain folder that loads back (sharded or not) with the same weights."""

import json
import os
import socket
import traceback
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import tiny_config, tiny_inputs

from social_mae_hf import (
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
)

WORLD_SIZE = 2
STEPS = 3
LR = 1e-3
SEED = 42


def encoder_units(prefix: str, config) -> set[str]:
    """The modules the plan makes FSDP units: the embeddings and every encoder layer."""
    encoder = f"{prefix}encoder"
    layers = {f"{encoder}.{stack}.{i}" for stack in ("audio_layers", "video_layers") for i in range(2)}
    return {f"{prefix}embeddings", f"{encoder}.fusion_layers.0"} | layers


@pytest.mark.parametrize(
    ("model_class", "prefix", "extra"),
    [
        (SocialMAEModel, "", set()),
        (SocialMAEForPreTraining, "social_mae.", {"decoder.layers.0"}),
        (SocialMAEForAudioVisualClassification, "social_mae.", set()),
        (SocialMAEForRegression, "social_mae.", set()),
    ],
)
def test_fsdp_plan_names_every_layer(model_class, prefix, extra):
    """Every class's plan resolves (no rule matches nothing) to the embeddings, each encoder layer and, for
    pretraining, each decoder layer."""
    model = model_class(tiny_config())
    assert set(model._expand_parallel_plan(model.fsdp_plan)) == encoder_units(prefix, model.config) | extra
    assert set(model.fsdp_plan.values()) == {"free_full_weight"}


# ---- two processes ---------------------------------------------------------------------------------------------


def batches_for(config, rank: int) -> list[dict[str, torch.Tensor]]:
    """Each rank's own clips (so that gradients are averaged over different data), with fixed masking noise."""
    inputs = tiny_inputs(config, batch=2, seed=100 + rank)
    generator = torch.Generator().manual_seed(200 + rank)
    inputs["audio_noise"] = torch.rand(2, config.num_audio_patches, generator=generator)
    inputs["video_noise"] = torch.rand(2, config.num_video_patches, generator=generator)
    return [inputs] * STEPS


def train(model, batches) -> list[float]:
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    losses = []
    for batch in batches:
        optimizer.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.detach().item())
    return losses


def check_on_rank(rank: int, init_dir: str, work_dir: str) -> None:
    from torch.nn.parallel import DistributedDataParallel
    from transformers.distributed import DistributedConfig
    from transformers.distributed.utils import gather_full_state_dict

    sharded = DistributedConfig(fsdp_size=WORLD_SIZE)
    torch.manual_seed(SEED)
    model = SocialMAEForPreTraining.from_pretrained(init_dir, distributed_config=sharded)

    # Sharding structure: exactly the plan's modules (and the root) are FSDP units; each rank holds about half.
    expected = {""} | set(model._expand_parallel_plan(model.fsdp_plan))
    actual = {name for name, module in model.named_modules() if type(module).__name__.startswith("FSDP")}
    assert actual == expected, (sorted(expected - actual), sorted(actual - expected))
    local = sum(parameter.to_local().numel() for parameter in model.parameters())
    total = sum(parameter.numel() for parameter in model.parameters())
    assert 0.4 * total <= local <= 0.6 * total, (local, total)
    counts = torch.tensor([local])
    dist.all_reduce(counts)
    assert counts.item() == total

    # FSDP2 against DDP: the same steps on the same data give the same losses and weights.
    batches = batches_for(model.config, rank)
    fsdp_losses = train(model, batches)
    reference = SocialMAEForPreTraining.from_pretrained(init_dir)
    ddp_losses = train(DistributedDataParallel(reference), batches)
    torch.testing.assert_close(torch.tensor(fsdp_losses), torch.tensor(ddp_losses), atol=1e-5, rtol=1e-5)
    trained = gather_full_state_dict(model)
    if rank == 0:
        assert trained.keys() == reference.state_dict().keys()
        for name, tensor in reference.state_dict().items():
            torch.testing.assert_close(trained[name], tensor, atol=1e-5, rtol=1e-5, msg=name)

    # Save from the sharded state: a plain folder, loading back sharded or whole with the same weights.
    folder = Path(work_dir) / "trained"
    model.save_pretrained(folder, is_main_process=rank == 0)
    dist.barrier()
    reloaded = gather_full_state_dict(SocialMAEForPreTraining.from_pretrained(folder, distributed_config=sharded))
    if rank == 0:
        whole = SocialMAEForPreTraining.from_pretrained(folder).state_dict()
        for name, tensor in trained.items():
            assert torch.equal(reloaded[name], tensor), name
            assert torch.equal(whole[name], tensor), name


def run_rank(rank: int, port: int, init_dir: str, work_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2"
    )
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE)
    error = None
    try:
        check_on_rank(rank, init_dir, work_dir)
    except Exception as caught:  # reported to the test through the results file, with the rank
        error = f"rank {rank}: {type(caught).__name__}: {caught}\n{traceback.format_exc()}"
    try:
        failed = torch.tensor([int(error is not None)])
        dist.all_reduce(failed, op=dist.ReduceOp.MAX)  # no rank leaves while another still waits in a collective
        Path(work_dir, f"result_{rank}.json").write_text(json.dumps({"error": error}))
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_fsdp2_shards_trains_as_ddp_and_saves_on_two_cpu_processes(tmp_path):
    torch.manual_seed(SEED)
    init_dir = tmp_path / "init"
    SocialMAEForPreTraining(tiny_config()).save_pretrained(init_dir)
    mp.spawn(run_rank, args=(free_port(), str(init_dir), str(tmp_path)), nprocs=WORLD_SIZE, join=True)
    errors = [json.loads((tmp_path / f"result_{rank}.json").read_text())["error"] for rank in range(WORLD_SIZE)]
    assert errors == [None] * WORLD_SIZE, "\n".join(filter(None, errors))


def test_the_accelerate_fsdp_config_saves_whole_weights():
    """`Trainer.save_model` under Accelerate's FSDP writes model weights only for `FULL_STATE_DICT`; with
    `SHARDED_STATE_DICT` the run's final folder would hold a config and no weights."""
    from accelerate.commands.config.config_args import load_config_from_file

    fsdp = load_config_from_file(str(Path(__file__).parents[1] / "examples" / "accelerate" / "fsdp.yaml"))
    assert fsdp.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    assert fsdp.fsdp_config["fsdp_version"] == 2 and fsdp.use_cpu is False
