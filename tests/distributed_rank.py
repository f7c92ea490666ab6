"""One process taking part in torch.distributed gloo groups, run by tests/test_distributed.py.

``python distributed_rank.py OUT RANK WORLD:PORT [WORLD:PORT ...]``: for each
group (one after the other, in the same process, to spare torch imports) this
process joins as ``RANK`` if ``RANK < WORLD``, runs every scenario, all-gathers
what each rank saw and, at the end, writes it all as JSON to ``OUT``.
"""

import datetime
import json
import sys

import numpy as np
import torch
import torch.distributed as dist

from gluondata import ArrayDataset, DataLoader
from gluondata.distributed import RankMismatchError

LENGTH = 23  # divides by neither 2 nor 3, nor by batch_size * world size
BATCH_SIZE = 4


def seen_batches(loader, epochs):
    """Per epoch: [indices, mask] of each batch this rank received."""
    return [[[batch.tolist(), mask.tolist()] for batch, mask in loader] for _ in range(epochs)]


def first_error(loader):
    """The RankMismatchError the loader's first iteration raises (None if none)."""
    try:
        next(iter(loader))
    except RankMismatchError as error:
        return str(error)
    return None


def gather(value):
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def resume_scenario(data, saved):
    """Save mid-epoch-1 in the first group (3 ranks); continue in the next one (2 ranks)."""
    loader = DataLoader(
        data, batch_size=BATCH_SIZE, shuffle=True, seed=7, num_shards="auto", with_mask=True
    )
    if "state" in saved:  # the second group: the rest of the interrupted epoch, then one more
        loader.load_state_dict(json.loads(saved["state"]))
        after = gather(seen_batches(loader, epochs=2))
        # a rank that loads an older state: every rank raises, naming the position
        state = json.loads(saved["state"])
        state["batches"] -= dist.get_rank() == 1
        stale = DataLoader(data, batch_size=BATCH_SIZE, shuffle=True, seed=7, num_shards="auto")
        stale.load_state_dict(state)
        return {"after": after, "stale": first_error(stale)}
    list(loader)  # epoch 0
    it = iter(loader)
    first = next(it)
    saved["state"] = json.dumps(loader.state_dict())
    return {"before": gather([[first.batch.tolist(), first.mask.tolist()]])}


def scenarios(rank, saved):
    data = ArrayDataset(np.arange(LENGTH))
    result = {}
    for last_batch in ("keep", "discard", "rollover"):
        loader = DataLoader(
            data,
            batch_size=BATCH_SIZE,
            shuffle=True,
            seed=7,
            last_batch=last_batch,
            num_shards="auto",
            with_mask=True,
            num_workers=1 if last_batch == "keep" else 0,
        )
        result[last_batch] = gather(seen_batches(loader, epochs=2))

    # evaluation: correct predictions counted over valid samples only, summed over ranks
    labels = np.random.default_rng(1).integers(0, 2, size=LENGTH)
    predictions = np.random.default_rng(2).integers(0, 2, size=LENGTH)
    loader = DataLoader(data, batch_size=BATCH_SIZE, num_shards="auto", with_mask=True)
    totals = torch.zeros(2, dtype=torch.int64)
    for batch, mask in loader:
        valid = batch[mask]
        totals += torch.tensor([int((predictions[valid] == labels[valid]).sum()), len(valid)])
    dist.all_reduce(totals)
    result["evaluation"] = totals.tolist()

    # a rank with another seed: every rank raises, naming the field and the ranks
    seed = 5 if rank == 1 else 4
    result["mismatch"] = first_error(
        DataLoader(data, batch_size=BATCH_SIZE, shuffle=True, seed=seed, num_shards="auto")
    )
    # rank 0 has a longer dataset; and a shard that no rank reads
    longer = ArrayDataset(np.arange(LENGTH + (rank == 0)))
    result["length"] = first_error(DataLoader(longer, batch_size=BATCH_SIZE, num_shards="auto"))
    world = dist.get_world_size()
    result["unread"] = first_error(
        DataLoader(data, batch_size=BATCH_SIZE, num_shards=world + 1, shard_index=rank)
    )
    result["resume"] = resume_scenario(data, saved)
    return result


def main(path, rank, groups):
    results = {}
    saved = {}
    for world, port in groups:
        if rank >= world:
            continue
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            world_size=world,
            rank=rank,
            timeout=datetime.timedelta(seconds=60),
        )
        results[world] = scenarios(rank, saved)
        dist.barrier()
        dist.destroy_process_group()
    with open(path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main(
        sys.argv[1],
        int(sys.argv[2]),
        [tuple(int(n) for n in spec.split(":")) for spec in sys.argv[3:]],
    )
