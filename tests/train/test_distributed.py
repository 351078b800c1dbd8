"""Training with DDP under the real torchrun launcher (two CPU processes, gloo), the sharding of
each kind of training loader, and the single-process path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from lamina import Learner, TensorBatches, accuracy
from lamina.testing import TinyMLP, synth_classification, tiny_learner
from lamina.train.callbacks.ddp_trainer import DistributedTrainer, shard_loader

# Records what one process saw and did, then writes it as rank<RANK>.json into argv[1].
RECORDER = """
import contextlib, io, json, os, sys
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

import lamina.train.checkpoint as checkpoint
from lamina import Callback

OUT = Path(sys.argv[1])
WRITES = []
_save = checkpoint.save_tensors_json


def recording_save(path, *args):
    WRITES.append(Path(path).name)
    return _save(path, *args)


checkpoint.save_tensors_json = recording_save


class Spy(Callback):
    def __init__(self):
        self.seen, self.wrapped, self.n_iters = [], [], []

    def before_train(self):
        self.seen.append([])
        self.wrapped.append(isinstance(self.learn.model, DistributedDataParallel))
        self.n_iters.append(self.learn.n_iter)

    def after_batch(self):
        if self.learn.training:  # an item's first four numbers tell it apart
            self.seen[-1] += self.learn.xb[0].flatten(1)[:, :4].tolist()


def train_and_report(learn, fit, spy):
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        fit(learn)
    weights = [float(x) for v in learn.model.state_dict().values() for x in v.flatten()]
    params = [float(x) for p in learn.model.parameters() for x in p.detach().flatten()]
    report = {"weights": weights, "params": params, "model_type": type(learn.model).__name__,
              "train_type": type(learn.dls.train).__name__, "wrapped": spy.wrapped,
              "n_iter": spy.n_iters, "seen": spy.seen, "losses": learn.recorder.losses,
              "values": learn.recorder.values, "last": learn.recorder.last_values(),
              "output": stream.getvalue(), "writes": WRITES,
              "callbacks": [type(cb).__name__ for cb in learn.cbs]}
    (OUT / f"rank{os.environ.get('RANK', '0')}.json").write_text(json.dumps(report))
"""

TENSORS_SCRIPT = """
from torch import nn
from lamina import Learner, SaveModel, accuracy
from lamina.testing import TinyMLP, synth_classification

torch.manual_seed(0)
spy = Spy()
learn = Learner(synth_classification(seed=0), TinyMLP(), loss_func=nn.CrossEntropyLoss(),
                metrics=accuracy, path=OUT, cbs=[spy, SaveModel()])


def fit(learn):
    with learn.distributed():
        learn.fit_one_cycle(3, 1e-2)
        learn.save("final")


train_and_report(learn, fit, spy)
"""

BLOCKS_SCRIPT = """
from torch import nn
from lamina import Learner, accuracy
from lamina.train.ddp import distributed
from lamina.vision import ImageDataLoaders

torch.manual_seed(0)
dls = ImageDataLoaders.from_folder(sys.argv[2], valid_pct=0.2, seed=0, bs=8, num_workers=0,
                                   device="cpu")
model = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(3 * 8 * 8), nn.Linear(3 * 8 * 8, 2))
spy = Spy()
learn = Learner(dls, model, metrics=accuracy, cbs=[spy])


def fit(learn):
    with distributed(learn):
        learn.fit(2, 1e-2)


train_and_report(learn, fit, spy)
"""


NAN_SCRIPT = """
from torch import nn
from lamina import Callback, Learner
from lamina.testing import TinyMLP, synth_classification


class PoisonOneRank(Callback):
    order = -20  # before TerminateOnNaN

    def after_loss(self):
        if os.environ["RANK"] == "1" and self.learn.training and self.learn.train_iter == 3:
            self.learn.loss = self.learn.loss * float("nan")


torch.manual_seed(0)
spy = Spy()
learn = Learner(synth_classification(seed=0), TinyMLP(), loss_func=nn.CrossEntropyLoss(),
                cbs=[spy, PoisonOneRank()])


def fit(learn):
    with learn.distributed():
        try:
            learn.fit(2, 1e-2)
        except FloatingPointError as error:
            print("stopped:", learn.train_iter, error)


train_and_report(learn, fit, spy)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(tmp_path: Path, script: str, *args: str) -> list[dict]:
    """Run `script` in two processes under torchrun; each process's report, by rank."""
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(RECORDER) + textwrap.dedent(script))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               f"--master_port={_free_port()}", str(path), str(tmp_path), *args]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def _assert_shared_out(reports: list[dict], n_items: int, n_batches: int) -> None:
    """Each epoch, the processes saw disjoint halves of the training set, in half the batches."""
    first, second = reports
    for mine, theirs in zip(first["seen"], second["seen"], strict=True):
        assert len(mine) == len(theirs) == n_items // 2
        assert len({tuple(item) for item in mine + theirs}) == n_items
    assert first["n_iter"] == second["n_iter"] == [n_batches // 2] * len(first["seen"])
    assert first["seen"][0] != first["seen"][1]  # each epoch is shuffled anew


@pytest.fixture(scope="module")
def tensors_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    tmp_path = tmp_path_factory.mktemp("ddp_tensors")
    return tmp_path, _torchrun(tmp_path, TENSORS_SCRIPT)


def test_ranks_end_with_identical_weights_and_the_plain_model(tensors_run) -> None:
    _, (first, second) = tensors_run
    assert first["weights"] == second["weights"]  # batch-norm statistics included
    assert first["wrapped"] == second["wrapped"] == [True, True, True]
    assert first["model_type"] == second["model_type"] == "TinyMLP"
    assert first["train_type"] == second["train_type"] == "TensorBatches"
    assert "DistributedTrainer" not in first["callbacks"]


def test_training_learns(tensors_run) -> None:
    _, (first, _) = tensors_run
    losses = first["losses"]
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])
    assert first["last"][1] >= 0.9  # accuracy on the validation set


def test_each_rank_trains_on_half_the_batches(tensors_run) -> None:
    _, reports = tensors_run
    _assert_shared_out(reports, n_items=512, n_batches=16)
    train_x = synth_classification(seed=0).train.tensors[0]
    everything = {tuple(item) for item in train_x[:, :4].tolist()}
    assert {tuple(item) for item in reports[0]["seen"][0] + reports[1]["seen"][0]} == everything


def test_validation_matches_a_single_process_run(tensors_run) -> None:
    tmp_path, (first, second) = tensors_run
    assert [row[1:3] for row in first["values"]] == [row[1:3] for row in second["values"]]
    assert first["last"] == second["last"] == first["values"][-1][1:3]
    learn = Learner(synth_classification(seed=0), TinyMLP(), loss_func=nn.CrossEntropyLoss(),
                    metrics=accuracy, path=tmp_path)  # fmt: skip
    learn.load("final")
    assert learn.validate() == pytest.approx(first["last"], rel=1e-6)
    weights = [float(x) for v in learn.model.state_dict().values() for x in v.flatten()]
    assert weights == first["weights"]


def test_only_rank_0_prints_and_writes(tensors_run) -> None:
    tmp_path, (first, second) = tensors_run
    assert "train_loss" in first["output"]
    assert "accuracy" in first["output"]
    assert "train_loss" not in second["output"]
    assert "epoch" not in second["output"]
    assert "model.safetensors" in first["writes"]  # SaveModel, at least once
    assert first["writes"][-1] == "final.safetensors"
    assert second["writes"] == []
    assert (tmp_path / "models" / "final.safetensors").is_file()


def test_block_data_loader_is_sharded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    for label, low in (("dark", 10), ("light", 150)):
        (images / label).mkdir(parents=True)
        for i in range(40):
            pixels = rng.integers(low, low + 90, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(images / label / f"{i}.png")
    first, second = _torchrun(tmp_path, BLOCKS_SCRIPT, str(images))
    _assert_shared_out([first, second], n_items=64, n_batches=8)
    assert first["weights"] == second["weights"]
    assert first["values"][-1][1:3] == second["values"][-1][1:3]
    assert first["last"][1] >= 0.9
    assert first["train_type"] == "BlockDataLoader"
    assert first["model_type"] == "Sequential"


def test_without_torchrun_it_trains_in_one_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    learn = tiny_learner(classification=True, metrics=accuracy)
    with learn.distributed():
        learn.fit(2, 1e-2)
    assert "one process" in capsys.readouterr().err
    assert isinstance(learn.model, TinyMLP)
    assert not any(isinstance(cb, DistributedTrainer) for cb in learn.cbs)
    assert learn.recorder.last_values()[1] >= 0.9


def _items(loader) -> list[int]:
    return [int(i) for batch in loader for i in batch[0]]


def test_sharded_tensor_batches_split_each_epoch_alike() -> None:
    dl = TensorBatches(torch.arange(20), bs=4, shuffle=True, seed=3)
    shards = [shard_loader(dl, rank, 2) for rank in (0, 1)]
    assert [len(shard) for shard in shards] == [3, 3]  # 10 items each, in batches of 4
    first = [_items(shard) for shard in shards]
    assert sorted(first[0] + first[1]) == list(range(20))
    assert first == [_items(shard) for shard in shards]  # the same epoch, the same order
    for shard in shards:
        shard.set_epoch(1)
    assert first != [_items(shard) for shard in shards]
    assert [len(batch[0]) for batch in shards[0]] == [4, 4, 2]


def test_sharded_torch_loader_keeps_its_settings() -> None:
    def collate(items: list) -> tuple[torch.Tensor]:
        return (torch.stack([item[0] for item in items]),)

    ds = TensorDataset(torch.arange(11))
    dl = DataLoader(ds, batch_size=3, shuffle=True, collate_fn=collate, drop_last=True)
    shards = [shard_loader(dl, rank, 2, seed=5) for rank in (0, 1)]
    for shard in shards:
        assert shard.batches.collate_fn is collate
        assert (shard.batches.batch_size, shard.batches.drop_last) == (3, True)
        assert len(shard) == len(list(shard)) == 2  # 6 items each (one repeated), 2 full batches
    assert len(set(_items(shards[0])) | set(_items(shards[1]))) >= 10


def test_unshardable_loaders_are_named() -> None:
    with pytest.raises(TypeError, match="list"):
        shard_loader([(torch.zeros(2),)], 0, 2)
    ds = TensorDataset(torch.arange(4))
    weighted = DataLoader(ds, batch_size=2, sampler=WeightedRandomSampler([1.0] * 4, 4))
    with pytest.raises(TypeError, match="WeightedRandomSampler"):
        shard_loader(weighted, 0, 2)


def test_the_callback_alone_asks_for_a_process_group() -> None:
    learn = tiny_learner()
    with pytest.raises(RuntimeError, match="torchrun"):
        learn.fit(1, cbs=DistributedTrainer())
    assert not isinstance(learn.model, nn.parallel.DistributedDataParallel)


def test_a_non_finite_loss_on_one_rank_stops_every_rank_at_the_same_batch(tmp_path) -> None:
    first, second = _torchrun(tmp_path, NAN_SCRIPT)  # a hang would fail on the timeout
    for report in (first, second):
        assert "stopped: 3 training loss became nan at epoch 0, batch 3" in report["output"]
    # Both kept the last finite step. (Batch-norm statistics may differ: each process's last
    # forward pass updated its own.)
    assert first["params"] == second["params"]
    assert all(np.isfinite(first["params"]))
