"""Exact resume at any batch (issue 13, items 9 and 10).

In this process: a checkpoint copied at a chosen step of a run, loaded into a fresh learner and
resumed, ends on bit-identical weights. Across processes (slow): training processes are killed
with SIGKILL at random batches, 10 times in a row, each resumed from the last checkpoint that
`SaveModel(every_steps)` wrote; the final weights are bit-identical to an uninterrupted run's.
Both with `num_workers` 0 and 2.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import shutil
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lamina import Callback
from lamina.train.callbacks import SaveModel
from tests.reliability import resume_trial

TALLY = {"kill_trials": 0, "exact_resumes": 0}


class CopyCheckpointAt(Callback):
    """Copies the rolling checkpoint just written at training step `step` to `dest`."""

    order = 100  # after SaveModel

    def __init__(self, step: int, dest: Path) -> None:
        self.step, self.dest = step, dest

    def after_batch(self) -> None:
        if self.learn.training and self.learn.train_iter == self.step:
            shutil.copy(self.learn.path / "models" / "model_last.safetensors", self.dest)


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resume_trial.write_digits(tmp_path_factory.mktemp("digits"), n=96)


def _weights(learn) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in learn.model.state_dict().items()}


def _identical(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> bool:
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_in_process_is_exact(digits: Path, tmp_path: Path, workers: int) -> None:
    learn = resume_trial.make_learner(digits, workers, tmp_path / "reference")
    learn.remove_cbs([learn.progress])
    n_batches = len(learn.dls.train)
    step = n_batches + 1  # the second batch of the second epoch
    copy = tmp_path / "copy.safetensors"
    # at_end=False: the reference keeps its last weights, as the resumed fit (without SaveModel)
    save = SaveModel(every_steps=1, at_end=False)
    learn.fit_one_cycle(3, 1e-2, cbs=[save, CopyCheckpointAt(step, copy)])
    expected, table = _weights(learn), learn.recorder.values

    resumed = resume_trial.make_learner(digits, workers, tmp_path / "resumed")
    resumed.remove_cbs([resumed.progress])
    resumed.load(copy)
    assert (resumed.epochs_done, resumed.batches_done) == (1, 2)
    resumed.fit_one_cycle(3, 1e-2, resume=True)
    assert _identical(_weights(resumed), expected)
    assert resumed.recorder.values == table
    assert len(resumed.recorder.losses) == 3 * n_batches


def _stop_forkserver() -> None:
    """Stop the test's forkserver, which otherwise outlives pytest (holding lamina in memory)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # private, present since Python 3.8
    if stop is not None:
        stop()


def _run(context, folder: Path, workers: int, checkpoints: Path, kill, out) -> int:
    process = context.Process(
        target=resume_trial.run, args=(folder, workers, checkpoints, kill, out)
    )
    process.start()
    try:
        process.join(timeout=300)
        if process.is_alive():
            raise AssertionError("a training process hung")
        return process.exitcode
    finally:
        # The trial's group: its loader workers and their forkserver outlive a SIGKILL.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.join(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_sigkill_at_random_batches_then_resume_is_exact(
    digits: Path, tmp_path: Path, workers: int, request: pytest.FixtureRequest
) -> None:
    # A fork server that imported lamina once forks each training process cheaply.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.reliability.resume_trial"])
    request.addfinalizer(_stop_forkserver)
    reference = tmp_path / "reference.safetensors"
    assert _run(context, digits, workers, tmp_path / "uninterrupted", None, reference) == 0
    n_steps = resume_trial.N_EPOCH * len(resume_trial.make_learner(digits, 0, tmp_path).dls.train)
    rng = random.Random(1000 + workers)
    kills = sorted(rng.sample(range(1, n_steps), 10))
    checkpoints, final = tmp_path / "killed", tmp_path / "final.safetensors"
    for step in kills:
        where = rng.choice(["before", "after"])
        assert _run(context, digits, workers, checkpoints, (step, where), None) == -9
        TALLY["kill_trials"] += 1
    assert _run(context, digits, workers, checkpoints, None, final) == 0
    expected, got = load_file(str(reference)), load_file(str(final))
    assert _identical(got, expected)
    TALLY["exact_resumes"] += len(kills)  # each resume continued the chain exactly
