"""Sharding across real processes: 2- and 3-rank torch.distributed gloo groups on 127.0.0.1."""

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch.distributed")

from gluondata import BatchSampler, RandomSampler, cli

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "distributed_train.py"
LENGTH, BATCH_SIZE = 23, 4  # as in distributed_rank.py


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    """{world: [results of each rank]}: a 3-rank group, then a 2-rank one (same processes)."""
    folder = tmp_path_factory.mktemp("distributed")
    specs = [f"{world}:{free_port()}" for world in (3, 2)]
    processes = []
    for rank in range(3):
        out = folder / f"rank{rank}.json"
        command = [sys.executable, str(HERE / "distributed_rank.py"), str(out), str(rank), *specs]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        env.pop("WORLD_SIZE", None)
        env.pop("RANK", None)
        processes.append(
            (subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True), out)
        )
    try:
        for process, _ in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
    finally:
        for process, _ in processes:
            process.kill()
    ranks = [json.loads(out.read_text()) for _, out in processes]
    return {world: [r[str(world)] for r in ranks if str(world) in r] for world in (2, 3)}


def single_process_epochs(last_batch, world, epochs=2):
    """Batches of one loader with the global batch size, same seed."""
    sampler = BatchSampler(RandomSampler(LENGTH, seed=7), BATCH_SIZE * world, last_batch)
    return [[sorted(batch) for batch in sampler] for _ in range(epochs)]


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("last_batch", ["keep", "discard", "rollover"])
def test_every_rank_sees_its_shard_and_the_union_is_one_epoch(groups, world, last_batch):
    results = groups[world]
    gathered = results[0][last_batch]
    assert all(r[last_batch] == gathered for r in results)  # every rank gathered the same
    expected = single_process_epochs(last_batch, world)
    for epoch, single in enumerate(expected):
        per_rank = [gathered[rank][epoch] for rank in range(world)]
        # equal batch counts on every rank
        assert {len(batches) for batches in per_rank} == {len(single)}
        steps = [
            sorted(i for batches in per_rank for i, valid in zip(*batches[k], strict=True) if valid)
            for k in range(len(single))
        ]
        assert steps == single
        valid = [i for step in steps for i in step]
        if last_batch == "keep":
            assert sorted(valid) == list(range(LENGTH))  # each index once per epoch
        elif last_batch == "discard":
            assert len(valid) == len(set(valid))


@pytest.mark.parametrize("world", [2, 3])
def test_masked_evaluation_summed_over_ranks_equals_one_process(groups, world):
    labels = np.random.default_rng(1).integers(0, 2, size=LENGTH)
    predictions = np.random.default_rng(2).integers(0, 2, size=LENGTH)
    single = [int((predictions == labels).sum()), LENGTH]
    assert [r["evaluation"] for r in groups[world]] == [single] * world


@pytest.mark.parametrize("world", [2, 3])
def test_a_rank_with_another_seed_fails_on_every_rank(groups, world):
    messages = [r["mismatch"] for r in groups[world]]
    assert len(set(messages)) == 1 and messages[0] is not None
    others = "0, 2" if world == 3 else "0"
    assert f"seed: 4 on rank{'s' if world == 3 else ''} {others}; 5 on rank 1" in messages[0]


@pytest.mark.parametrize("world", [2, 3])
def test_other_dataset_lengths_and_unread_shards_fail_on_every_rank(groups, world):
    lengths = {r["length"] for r in groups[world]}
    others = "rank 1" if world == 2 else "ranks 1-2"
    assert lengths == {
        "DataLoader: the ranks of this job disagree, so they would not read one epoch exactly "
        f"once between them; dataset length: 24 on rank 0; 23 on {others}; "
        f"sampler length: 24 on rank 0; 23 on {others}"
    }
    unread = {r["unread"] for r in groups[world]}
    (message,) = unread
    assert f"no rank reads shard(s) {world} of {world + 1}" in message


def test_an_epoch_interrupted_on_3_ranks_resumes_on_2(groups):
    """3 ranks save after one step of epoch 1; 2 of them load their states: each index once."""
    before = groups[3][0]["resume"]["before"]  # per rank: [[indices, mask]]
    after = groups[2][0]["resume"]["after"]  # per rank, per epoch: [[indices, mask], ...]
    assert all(r["resume"]["after"] == after for r in groups[2])
    done = [i for (batch, mask) in (b[0] for b in before) for i in np.array(batch)[mask]]
    assert len(done) == 3 * BATCH_SIZE
    rest_of_epoch = [rank_epochs[0] for rank_epochs in after]
    assert len({len(batches) for batches in rest_of_epoch}) == 1  # equal batch counts
    rest = [
        i
        for batches in rest_of_epoch
        for batch, mask in batches
        for i, valid in zip(batch, mask, strict=True)
        if valid
    ]
    order = RandomSampler(LENGTH, seed=7)
    order.set_epoch(1)
    assert sorted(done + rest) == list(range(LENGTH))
    assert set(done) == set(order.epoch_indices()[: 3 * BATCH_SIZE].tolist())
    # the epoch after is a whole one on 2 ranks
    next_epoch = [i for r in after for b, m in r[1] for i, v in zip(b, m, strict=True) if v]
    assert sorted(next_epoch) == list(range(LENGTH))
    # a rank that loaded another position stops every rank
    stale = {r["resume"]["stale"] for r in groups[2]}
    assert len(stale) == 1 and "first batch: 1 on rank 0; 0 on rank 1" in stale.pop()


def test_the_ddp_example_trains_under_torchrun(tmp_path):
    """examples/distributed_train.py on a .rec packed by ``gluondata im2rec``, 2 ranks."""
    spec = importlib.util.spec_from_file_location("distributed_train", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.make_folder(tmp_path / "images", per_class=21)
    for argv in (["--list", "--recursive"], []):
        assert cli.main(["im2rec", *argv, str(tmp_path / "shapes"), str(tmp_path / "images")]) == 0
    torchrun = Path(sys.executable).with_name("torchrun")
    launcher = (
        [str(torchrun)] if torchrun.exists() else [sys.executable, "-m", "torch.distributed.run"]
    )
    command = [
        *launcher,
        "--standalone",
        "--nproc_per_node=2",
        str(EXAMPLE),
        "--data",
        str(tmp_path / "shapes.rec"),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # 42 images, 2 ranks x 4 per step: 5 steps each (2 images of the global tail dropped)
    for rank in (0, 1):
        assert all(f"rank {rank}/2 epoch {e}: 5 steps" in out for e in range(3)), out
    # evaluation with the mask counts each image once over both ranks
    counted = re.findall(r"epoch \d: accuracy (\d+)/(\d+) \(the dataset has 42 images\)", out)
    assert [int(n) for _, n in counted] == [42, 42, 42], out
    assert int(counted[-1][0]) >= 30, out
