"""The domain-free exporter: extra check batches guard the dynamic sizes, and an LSTM's
sequence length stays free in the written program."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.export import Dim

from lamina.train.graph_export import GraphInputs, export_torch_program

pytestmark = [
    # torch's exporter and loader warn about their own internals
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


class SumOnlyWhenEager(nn.Module):
    """Row sums eagerly; traced, the first column times the width: equal on constant rows."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_exporting():
            return x[:, 0] * x.size(1)
        return x.sum(dim=1)


def test_a_file_wrong_on_a_check_batch_is_not_written(tmp_path) -> None:
    example = torch.ones(2, 4)  # where the traced graph and the model agree
    check = torch.arange(15.0).view(3, 5)  # where they do not
    inputs = GraphInputs(("x",), (example,), ({0: Dim("batch"), 1: Dim("width")},), "x",
                         checks=((check,),))  # fmt: skip
    with pytest.raises(ValueError, match=r"on a batch shaped \(3, 5\) \(nothing was written\)"):
        export_torch_program(SumOnlyWhenEager(), inputs, tmp_path / "m.pt2")
    assert list(tmp_path.iterdir()) == []


class LastStep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 5, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0][:, -1]


@pytest.mark.slow  # tracing the LSTM's while_loop takes seconds
def test_an_lstm_program_takes_any_length(tmp_path, caplog) -> None:
    torch.manual_seed(0)
    model = LastStep().eval()
    example = (torch.randn(2, 4, 3),)
    inputs = GraphInputs(("x",), example, ({0: Dim("batch"), 1: Dim("seq")},), "x")
    path = export_torch_program(model, inputs, tmp_path / "m.pt2")
    caplog.clear()
    program = torch.export.load(str(path))
    for x in (torch.randn(3, 17, 3), torch.randn(1, 1, 3)):  # longer, shorter, other batch
        with torch.no_grad():
            torch.testing.assert_close(program.module()(x), model(x), atol=1e-5, rtol=1e-5)
    ops = {str(node.target) for node in program.graph.nodes}
    assert "aten.lstm.input" in ops  # one LSTM call, not the steps unrolled
    # no stray size (the while_loop's step count) for the loader to warn about
    assert "did not appear in the graph" not in caplog.text
