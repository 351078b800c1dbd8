"""Callback's read-only view of the learner's state (fastai's `self.loss`, `self.epoch`, ...)."""

from __future__ import annotations

import pytest
import torch

from lamina import Callback
from lamina.testing import tiny_learner
from lamina.train.callback import LEARNER_STATE


class Reader(Callback):
    """Reads the loop's state through its own properties and compares with the learner's."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def after_loss(self) -> None:
        learn = self.learn
        pairs = [(self.model, learn.model), (self.dls, learn.dls), (self.dl, learn.dl),
                 (self.opt, learn.opt), (self.loss_func, learn.loss_func),
                 (self.metrics, learn.metrics), (self.xb, learn.xb), (self.yb, learn.yb),
                 (self.pred, learn.pred), (self.loss, learn.loss),
                 (self.loss_grad, learn.loss_grad)]  # fmt: skip
        assert all(mine is theirs for mine, theirs in pairs)
        self.seen.append((self.epoch, self.n_epoch, self.iter, self.n_iter, self.train_iter,
                          self.pct_train, self.training, float(self.loss)))  # fmt: skip


def test_properties_read_the_learners_state_in_every_phase() -> None:
    reader = Reader()
    learn = tiny_learner(cbs=[reader], lr=0.05)
    learn.fit(2)
    n_train, n_valid = len(learn.dls.train), len(learn.dls.valid)
    assert len(reader.seen) == 2 * (n_train + n_valid)
    train = [row for row in reader.seen if row[6]]
    assert [row[4] for row in train] == list(range(2 * n_train))  # train_iter counts on
    assert {row[0] for row in reader.seen} == {0, 1}
    assert {row[1] for row in reader.seen} == {2}
    assert train[-1][5] == pytest.approx((2 * n_train - 1) / (2 * n_train))
    valid = [row for row in reader.seen if not row[6]]
    assert [row[2] for row in valid[:n_valid]] == list(range(n_valid))
    assert {row[3] for row in valid} == {n_valid}


class Writer(Callback):
    def after_loss(self) -> None:
        self.loss = self.learn.loss * 0


@pytest.mark.parametrize("name", sorted(LEARNER_STATE))
def test_assigning_learner_state_on_a_callback_says_to_go_through_learn(name: str) -> None:
    with pytest.raises(AttributeError, match=rf"assign self\.learn\.{name} = \.\.\. to change it"):
        setattr(Callback(), name, 1)


def test_assigning_during_fit_fails_loudly_naming_the_callback() -> None:
    learn = tiny_learner(cbs=[Writer()])
    with pytest.raises(AttributeError, match=r"Writer\.loss is the learner's, read-only"):
        learn.fit(1)


def test_writes_through_learn_change_the_loop() -> None:
    class ZeroPred(Callback):
        def after_pred(self) -> None:
            self.learn.pred = self.pred * 0  # keeps the graph for the backward pass

    learn = tiny_learner(cbs=[ZeroPred()])
    learn.fit(1)
    preds, _ = learn.get_preds()
    assert torch.count_nonzero(preds) == 0


def test_a_subclass_may_redefine_a_name_as_its_own() -> None:
    class OwnEpoch(Callback):
        epoch = 0  # a class attribute of its own shadows the property

    cb = OwnEpoch()
    cb.epoch = 5
    assert cb.epoch == 5
    cb.counter = 1  # other attributes are unaffected
    assert cb.counter == 1
