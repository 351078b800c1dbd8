import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lamina.models import GRUCell, LSTMCell, RecurrentLayer
from lamina.models.recurrent import layer as layer_module
from lamina.models.recurrent import run_eager, scan


@pytest.fixture(autouse=True)
def _batch_small_cells_too(monkeypatch):
    """Test cells are tiny; take the batched path for them as for large ones."""
    monkeypatch.setattr(layer_module, "MIN_BATCHED_WEIGHTS", 0)


class PlainLSTMCell(nn.Module):
    """A user's LSTM without input_proj: both projections inside the step, one with a bias."""

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        self.n_hidden = n_hidden
        self.from_input = nn.Linear(n_in, 4 * n_hidden)
        self.from_hidden = nn.Linear(n_hidden, 4 * n_hidden)
        self.forget_bias = nn.Parameter(torch.ones(n_hidden))  # not in a linear: plain autograd

    def init_state(self, batch_size, device):
        zeros = torch.zeros(batch_size, self.n_hidden, device=device, dtype=torch.float64)
        return zeros, zeros

    def forward(self, x_t, state):
        h, c = state
        i, f, g, o = (self.from_input(x_t) + self.from_hidden(h)).chunk(4, dim=1)
        c = torch.sigmoid(f + self.forget_bias) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class PlainGRUCell(nn.Module):
    """A GRU-like cell without input_proj, a single tensor as state and a tanh read-out."""

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        self.n_hidden = n_hidden
        self.gates = nn.Linear(n_in + n_hidden, 2 * n_hidden)
        self.candidate = nn.Linear(n_in + n_hidden, n_hidden)

    def init_state(self, batch_size, device):
        return torch.zeros(batch_size, self.n_hidden, device=device, dtype=torch.float64)

    def forward(self, x_t, h):
        r, z = torch.sigmoid(self.gates(torch.cat([x_t, h], dim=1))).chunk(2, dim=1)
        n = torch.tanh(self.candidate(torch.cat([x_t, r * h], dim=1)))
        h = (1 - z) * n + z * h
        return torch.tanh(h), h


class WeightOutsideCall(PlainGRUCell):
    """Reads `candidate.weight` directly: the layer must notice and run the plain loop."""

    def forward(self, x_t, h):
        r, z = torch.sigmoid(self.gates(torch.cat([x_t, h], dim=1))).chunk(2, dim=1)
        n = torch.tanh(F.linear(torch.cat([x_t, r * h], dim=1), self.candidate.weight))
        h = (1 - z) * n + z * h
        return h, h


class InPlaceOnOutput(PlainGRUCell):
    """Scales a linear's output in place: the layer must notice and run the plain loop."""

    def forward(self, x_t, h):
        gates = self.gates(torch.cat([x_t, h], dim=1))
        gates.mul_(2)
        r, z = torch.sigmoid(gates).chunk(2, dim=1)
        n = torch.tanh(self.candidate(torch.cat([x_t, r * h], dim=1)))
        h = (1 - z) * n + z * h
        return h, h


def eager_reference(cell, x, state=None):
    """The plain loop a user would write, as the reference."""
    input_proj = getattr(cell, "input_proj", None)
    xs = x if input_proj is None else input_proj(x)
    state = cell.init_state(x.shape[0], x.device) if state is None else state
    return run_eager(cell, xs, state)


def flat(state):
    return [state] if isinstance(state, torch.Tensor) else list(state)


def outputs_and_grads(model_fn, cell, x, state):
    """Outputs, final state and the gradients of a loss on both: of params, x and state."""
    leaves = [x, *flat(state)] if state is not None else [x]
    for leaf in leaves:
        leaf.grad = None
    cell.zero_grad(set_to_none=True)
    out, final = model_fn(x, state)
    loss = (out**2).sum() + sum((s * 0.5).sum() for s in flat(final))
    loss.backward()
    grads = [p.grad for p in cell.parameters()] + [leaf.grad for leaf in leaves]
    return [out, *flat(final)], grads


def assert_same_as_eager(cell, x, state, fused_kernels=False):
    layer = RecurrentLayer(cell, fused_kernels=fused_kernels)
    expected = outputs_and_grads(lambda x, s: eager_reference(cell, x, s), cell, x, state)
    found = outputs_and_grads(layer, cell, x, state)
    for want, got in zip(expected[0] + expected[1], found[0] + found[1], strict=True):
        assert (want is None) == (got is None)
        if want is not None:
            torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)
    return layer


def requiring_grad(state):
    if isinstance(state, torch.Tensor):
        return (torch.randn_like(state) * 0.1).requires_grad_()
    return tuple((torch.randn_like(s) * 0.1).requires_grad_() for s in state)


@pytest.mark.parametrize(
    "make_cell",
    [
        lambda: LSTMCell(5, 6).double(),
        lambda: GRUCell(5, 6).double(),
        lambda: PlainLSTMCell(5, 6).double(),
        lambda: PlainGRUCell(5, 6).double(),
    ],
    ids=["lstm_input_proj", "gru_input_proj", "lstm_plain", "gru_plain"],
)
def test_gradients_equal_the_plain_loop(make_cell):
    cell = make_cell()
    x = torch.randn(3, 7, 5, dtype=torch.float64, requires_grad=True)
    state = requiring_grad(cell.init_state(3, x.device))
    layer = assert_same_as_eager(cell, x, state)
    assert layer._workspace.buffers  # the weight gradients came from the batched path


@pytest.mark.parametrize(
    "make_cell",
    [lambda: LSTMCell(5, 6).double(), lambda: PlainGRUCell(5, 6).double()],
    ids=["lstm_input_proj", "gru_plain"],
)
def test_gradients_equal_the_plain_loop_over_several_chunks(make_cell, monkeypatch):
    monkeypatch.setattr(scan, "CHUNK_ROWS", 6)  # 2 steps of batch 3 per chunk: 4 chunks
    cell = make_cell()
    x = torch.randn(3, 7, 5, dtype=torch.float64, requires_grad=True)
    state = requiring_grad(cell.init_state(3, x.device))
    assert_same_as_eager(cell, x, state)


def test_float32_gradients_match_within_tolerance():
    cell = LSTMCell(8, 16)
    x = torch.randn(4, 12, 8)
    layer = RecurrentLayer(cell, fused_kernels=False)
    eager_out, _ = eager_reference(cell, x)
    eager_out.sum().backward()
    expected = [p.grad.clone() for p in cell.parameters()]
    cell.zero_grad(set_to_none=True)
    out, _ = layer(x)
    out.sum().backward()
    torch.testing.assert_close(out, eager_out)
    for want, got in zip(expected, [p.grad for p in cell.parameters()], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_shapes_and_default_state():
    lstm_out, (h, c) = RecurrentLayer(LSTMCell(5, 6))(torch.randn(3, 4, 5))
    assert lstm_out.shape == (3, 4, 6)
    assert h.shape == c.shape == (3, 6)
    torch.testing.assert_close(lstm_out[:, -1], h)
    gru_out, gru_h = RecurrentLayer(GRUCell(5, 6))(torch.randn(3, 4, 5))
    assert gru_out.shape == (3, 4, 6)
    assert gru_h.shape == (3, 6)


def test_state_carries_across_windows():
    layer = RecurrentLayer(LSTMCell(5, 6))
    x = torch.randn(2, 10, 5)
    whole, whole_state = layer(x)
    first, state = layer(x[:, :4])
    second, final = layer(x[:, 4:], state=tuple(s.detach() for s in state))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    torch.testing.assert_close(final[1], whole_state[1])


def test_sequence_length_can_change_between_calls():
    cell = PlainGRUCell(5, 6).double()
    for length in (3, 9, 1):
        x = torch.randn(2, length, 5, dtype=torch.float64, requires_grad=True)
        assert_same_as_eager(cell, x, cell.init_state(2, x.device))


def test_loss_on_the_final_state_only():
    cell = LSTMCell(5, 6).double()
    x = torch.randn(2, 5, 5, dtype=torch.float64)
    _, (h, _) = eager_reference(cell, x)
    h.sum().backward()
    expected = [p.grad.clone() for p in cell.parameters()]
    cell.zero_grad(set_to_none=True)
    _, (h, _) = RecurrentLayer(cell)(x)
    h.sum().backward()
    for want, got in zip(expected, [p.grad for p in cell.parameters()], strict=True):
        torch.testing.assert_close(got, want)


def test_frozen_projection_gets_no_gradient():
    cell = LSTMCell(5, 6).double()
    cell.hidden_proj.weight.requires_grad_(False)
    x = torch.randn(2, 5, 5, dtype=torch.float64)
    assert_same_as_eager(cell, x, cell.init_state(2, x.device))
    assert cell.hidden_proj.weight.grad is None


def test_inference_runs_the_plain_loop_with_the_same_outputs():
    layer = RecurrentLayer(GRUCell(5, 6))
    x = torch.randn(2, 5, 5)
    out, _ = layer(x)
    with torch.no_grad():
        plain, _ = layer(x)
    assert not plain.requires_grad
    torch.testing.assert_close(plain, out)


@pytest.mark.parametrize(
    ("cell_class", "reason"),
    [
        (WeightOutsideCall, "weight or bias outside that layer's call"),
        (InPlaceOnOutput, "in place"),
    ],
)
def test_falls_back_with_a_message_and_right_gradients(cell_class, reason):
    cell = cell_class(5, 6).double()
    x = torch.randn(2, 5, 5, dtype=torch.float64, requires_grad=True)
    with pytest.warns(UserWarning, match=reason):
        layer = assert_same_as_eager(cell, x, cell.init_state(2, x.device))
    layer(x)  # warns only once: a second warning would fail here (warnings are errors)


def test_cell_without_linear_falls_back_with_a_message():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.full((4,), 0.5))

        def init_state(self, batch_size, device):
            return torch.zeros(batch_size, 4, device=device)

        def forward(self, x_t, h):
            h = torch.tanh(x_t + self.scale * h)
            return h, h

    layer = RecurrentLayer(Scaled())
    with pytest.warns(UserWarning, match="no nn.Linear"):
        out, _ = layer(torch.randn(2, 3, 4))
    out.sum().backward()
    assert layer.cell.scale.grad is not None


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="init_state"):
        RecurrentLayer(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="batch, seq, features"):
        RecurrentLayer(LSTMCell(5, 6))(torch.randn(2, 5))
    with pytest.raises(ValueError, match="n_hidden"):
        LSTMCell(5, 0)


class DropoutLSTMCell(LSTMCell):
    """Dropout on the hidden state: the layer must draw the same numbers as the plain loop."""

    def forward(self, x_t, state):
        h, c = state
        return super().forward(x_t, (F.dropout(h, 0.3, self.training), c))


def test_dropout_draws_the_same_numbers_as_the_plain_loop():
    cell = DropoutLSTMCell(5, 6).double()
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    torch.manual_seed(1)
    expected = outputs_and_grads(lambda x, s: eager_reference(cell, x, s), cell, x, None)
    torch.manual_seed(1)
    found = outputs_and_grads(RecurrentLayer(cell), cell, x, None)
    for want, got in zip(expected[0] + expected[1][:3], found[0] + found[1][:3], strict=True):
        torch.testing.assert_close(got, want)


def test_linear_with_a_hook_of_its_own_keeps_right_gradients():
    cell = PlainGRUCell(5, 6).double()
    cell.candidate.register_forward_hook(lambda module, args, out: out * 2)
    x = torch.randn(2, 5, 5, dtype=torch.float64)
    assert_same_as_eager(cell, x, cell.init_state(2, x.device))


def test_runs_under_cpu_autocast():
    cell = LSTMCell(8, 16)
    x = torch.randn(4, 6, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        eager_out, _ = eager_reference(cell, x)
    eager_out.float().sum().backward()
    expected = [p.grad.clone() for p in cell.parameters()]
    cell.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = RecurrentLayer(cell)(x)
    out.float().sum().backward()
    for want, got in zip(expected, [p.grad for p in cell.parameters()], strict=True):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, rtol=0.05, atol=0.05)


class CallsInputProjInside(LSTMCell):
    """Also feeds the hidden state through input_proj's weight in each step (a tied cell)."""

    def __init__(self, n: int) -> None:
        super().__init__(n, n)

    def forward(self, x_t, state):
        h, c = state
        return super().forward(x_t + self.input_proj(h), (h, c))


def test_input_proj_called_inside_the_step_gets_its_gradient():
    cell = CallsInputProjInside(4).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    assert_same_as_eager(cell, x, cell.init_state(2, x.device))


def test_unfrozen_layer_is_checked_and_batched():
    cell = LSTMCell(5, 6).double()
    cell.hidden_proj.weight.requires_grad_(False)
    layer = RecurrentLayer(cell, fused_kernels=False)
    layer(torch.randn(2, 3, 5, dtype=torch.float64))[0].sum().backward()
    assert not layer._workspace.buffers
    cell.hidden_proj.weight.requires_grad_(True)
    layer(torch.randn(2, 3, 5, dtype=torch.float64))[0].sum().backward()
    assert layer._workspace.buffers
    assert cell.hidden_proj.weight.grad is not None


def test_small_cells_run_the_plain_loop(monkeypatch):
    monkeypatch.setattr(layer_module, "MIN_BATCHED_WEIGHTS", 10_000)
    cell = WeightOutsideCall(5, 6).double()  # would warn if it were checked
    layer = RecurrentLayer(LSTMCell(5, 6), fused_kernels=False)
    layer(torch.randn(2, 3, 5))[0].sum().backward()
    assert not layer._workspace.buffers
    RecurrentLayer(cell)(torch.randn(2, 3, 5, dtype=torch.float64))


def python_forward_refused(cell):
    """Make the cell's Python forward fail, to show a call never ran it."""

    def refuse(*args):
        raise AssertionError("the cell's Python forward ran")

    cell.forward = refuse
    return cell


@pytest.mark.parametrize("cell_class", [LSTMCell, GRUCell], ids=["lstm", "gru"])
def test_recognised_cells_run_the_fused_kernels_with_the_same_gradients(cell_class):
    cell = cell_class(5, 6).double()
    x = torch.randn(3, 7, 5, dtype=torch.float64, requires_grad=True)
    state = requiring_grad(cell.init_state(3, x.device))
    expected = outputs_and_grads(lambda x, s: eager_reference(cell, x, s), cell, x, state)
    layer = RecurrentLayer(python_forward_refused(cell))
    found = outputs_and_grads(layer, cell, x, state)
    for want, got in zip(expected[0] + expected[1], found[0] + found[1], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)
    with torch.no_grad():
        torch.testing.assert_close(layer(x, state)[0], expected[0][0])
    assert not layer._workspace.buffers


def test_fused_float32_lstm_matches_the_plain_loop_within_tolerance():
    cell = LSTMCell(8, 16)
    x = torch.randn(4, 12, 8)
    state = requiring_grad(cell.init_state(4, x.device))
    expected = outputs_and_grads(lambda x, s: eager_reference(cell, x, s), cell, x, state)
    found = outputs_and_grads(RecurrentLayer(python_forward_refused(cell)), cell, x, state)
    for want, got in zip(expected[0] + expected[1], found[0] + found[1], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


class ScaledLSTMCell(LSTMCell):
    """A subclass changing the step: the layer must run its Python forward, not the kernel."""

    def forward(self, x_t, state):
        return super().forward(x_t * 0.5, state)


def test_changed_cells_run_their_python_forward():
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    assert_same_as_eager(ScaledLSTMCell(5, 6).double(), x, None, fused_kernels=True)
    hooked = GRUCell(5, 6).double()
    hooked.hidden_proj.register_forward_hook(lambda module, args, out: out * 2)
    assert_same_as_eager(hooked, x, None, fused_kernels=True)
    with pytest.raises(AssertionError, match="Python forward ran"):
        RecurrentLayer(python_forward_refused(LSTMCell(5, 6)), fused_kernels=False)(x.float())
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(AssertionError):
        RecurrentLayer(python_forward_refused(LSTMCell(5, 6)))(x.float())
