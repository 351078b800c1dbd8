"""`ActivationStats`: how each layer's activations evolve over training, to spot dead or
exploding layers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lamina.train.callback import Callback
from lamina.train.hooks import Hooks, first_tensor, layers_with_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STAT_NAMES = ("mean", "std", "near_zero")


class _DeviceRows:
    """Rows appended as tensors where they were computed (no wait for the device), stacked in
    chunks so a long fit keeps few tensors, and copied to the host once when read."""

    CHUNK = 256

    def __init__(self, row_shape: tuple[int, ...]) -> None:
        self.row_shape = row_shape
        self._pending: list[torch.Tensor] = []
        self._chunks: list[torch.Tensor] = []
        self._host: torch.Tensor | None = None
        self._n = 0

    def append(self, row: torch.Tensor) -> None:
        self._pending.append(row)
        self._n += 1
        self._host = None
        if len(self._pending) >= self.CHUNK:
            self._chunks.append(torch.stack(self._pending))
            self._pending = []

    def __len__(self) -> int:
        return self._n

    def read(self) -> torch.Tensor:
        """All rows, `(n_rows, *row_shape)`, on the CPU."""
        if self._host is None:
            parts = self._chunks + ([torch.stack(self._pending)] if self._pending else [])
            self._host = (torch.cat([p.cpu() for p in parts]) if parts
                          else torch.empty(0, *self.row_shape))  # fmt: skip
        return self._host


class ActivationStats(Callback):
    """Records the output statistics of some layers at every `every`-th training batch: the mean,
    the standard deviation and the near-zero share (the fraction of values with magnitude under
    `eps`: after a ReLU, the units that are off). Optionally a histogram of the values.

    The statistics are computed on the device, in the hooks, and kept there: a batch adds no
    host-device sync; they are copied to the host once, when read. The hooks are on during a
    fit only, and removed after it, also when it ends on an error or Ctrl-C. Each fit starts a
    fresh record. A module called several times in a forward pass records its last call.

    Args:
        modules: the modules whose outputs to watch (default: the model's leaf layers with
            parameters, `lamina.train.hooks.layers_with_params`).
        every: record one training batch in `every`.
        eps: the magnitude under which a value counts as near zero.
        with_hist: also record a histogram of each layer's values per batch (for `color_dim`).
        hist_bins, hist_range: the histogram's bins over `[low, high]`; values outside are
            left out.

    After a fit: `means`, `stds`, `near_zero` (each `(n_batches, n_layers)`), `hists`
    (`(n_batches, n_layers, hist_bins)`), `iters` (the training batch of each row),
    `layer_names`.

    Example:
        >>> learn.fit(1, cbs=ActivationStats(with_hist=True))
        >>> learn.activation_stats.plot_layer_stats(-2)
        >>> learn.activation_stats.color_dim(-2)
    """

    run_valid = False

    def __init__(
        self,
        modules: Sequence[nn.Module] | None = None,
        every: int = 1,
        eps: float = 1e-2,
        with_hist: bool = False,
        hist_bins: int = 40,
        hist_range: tuple[float, float] = (-10.0, 10.0),
    ) -> None:
        if not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be a positive integer, got {every!r}")
        if not (isinstance(eps, (int, float)) and eps > 0 and math.isfinite(eps)):
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        if not (isinstance(hist_bins, int) and hist_bins >= 1):
            raise ValueError(f"hist_bins must be a positive integer, got {hist_bins!r}")
        low, high = hist_range
        if not low < high:
            raise ValueError(f"hist_range must be (low, high) with low < high, got {hist_range!r}")
        if modules is not None and not all(isinstance(m, nn.Module) for m in modules):
            raise ValueError(
                f"modules must be nn.Modules, got {[type(m).__name__ for m in modules]}"
            )
        self.modules = None if modules is None else list(modules)
        self.every, self.eps, self.with_hist = every, float(eps), with_hist
        self.hist_bins, self.hist_range = hist_bins, (float(low), float(high))
        self.hooks: Hooks | None = None
        self.layer_names: list[str] = []
        self.iters: list[int] = []
        self._stats = _DeviceRows((0, len(STAT_NAMES)))
        self._hists = _DeviceRows((0, hist_bins))
        self._recording = False

    # ----------------------------------------------------------------------------- events
    def before_fit(self) -> None:
        model = self.learn.model
        modules = self.modules if self.modules is not None else layers_with_params(model)
        if not modules:
            raise ValueError(
                f"{type(model).__name__} has no leaf layers with parameters to watch; pass "
                "ActivationStats(modules=[...])"
            )
        names = {id(module): name for name, module in model.named_modules()}
        self.layer_names = [names.get(id(m), type(m).__name__) or "model" for m in modules]
        self.iters = []
        self._stats = _DeviceRows((len(modules), len(STAT_NAMES)))
        self._hists = _DeviceRows((len(modules), self.hist_bins))
        self._recording = False
        self._remove_hooks()
        self.hooks = Hooks(modules, self._layer_stats)

    def before_batch(self) -> None:
        self._recording = self.learn.train_iter % self.every == 0
        if self._recording:
            assert self.hooks is not None, "before_fit sets the hooks"
            for hook in self.hooks:
                hook.stored = None  # a layer that does not run this batch records NaN

    def after_batch(self) -> None:
        if not self._recording:
            return
        self._recording = False
        assert self.hooks is not None, "before_fit sets the hooks"
        stored = self.hooks.stored
        device = next((s[0].device for s in stored if s is not None), torch.device("cpu"))
        self._stats.append(torch.stack([self._or_nan(s, 0, len(STAT_NAMES), device)
                                        for s in stored]))  # fmt: skip
        if self.with_hist:
            self._hists.append(torch.stack([self._or_nan(s, 1, self.hist_bins, device)
                                            for s in stored]))  # fmt: skip
        self.iters.append(self.learn.train_iter)

    def before_validate(self) -> None:
        self._recording = False

    def after_fit(self) -> None:
        self._remove_hooks()

    def after_interrupt(self) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        self._recording = False
        if self.hooks is not None:
            self.hooks.remove()
            self.hooks = None

    # ----------------------------------------------------------------------------- recording
    def _layer_stats(self, _module: nn.Module, _inputs: Any, output: Any) -> Any:
        if not self._recording:
            return None
        values = first_tensor(output)
        if values is None:
            return None
        values = values.detach().float()  # half-precision outputs are summed in float32
        var, mean = torch.var_mean(values)
        near_zero = torch.count_nonzero(values.abs() < self.eps) / max(values.numel(), 1)
        stats = torch.stack((mean, var.sqrt(), near_zero.to(mean.dtype)))  # (3,)
        if not self.with_hist:
            return stats, None
        low, high = self.hist_range
        return stats, torch.histc(values, self.hist_bins, low, high)  # (hist_bins,)

    @staticmethod
    def _or_nan(stored: Any, part: int, size: int, device: torch.device) -> torch.Tensor:
        if stored is None:
            return torch.full((size,), math.nan, device=device)
        return stored[part]

    # ----------------------------------------------------------------------------- reading
    @property
    def means(self) -> torch.Tensor:
        """Mean of each layer's output: `(n_batches, n_layers)`, on the CPU."""
        return self._stats.read()[..., 0]

    @property
    def stds(self) -> torch.Tensor:
        """Standard deviation of each layer's output: `(n_batches, n_layers)`."""
        return self._stats.read()[..., 1]

    @property
    def near_zero(self) -> torch.Tensor:
        """Share of each layer's output values with magnitude under `eps`: `(n_batches,
        n_layers)`."""
        return self._stats.read()[..., 2]

    @property
    def hists(self) -> torch.Tensor:
        """Histogram counts of each layer's output over `hist_range`: `(n_batches, n_layers,
        hist_bins)` (empty unless `with_hist`)."""
        return self._hists.read()

    def _layer(self, index: int) -> int:
        n = len(self.layer_names)
        if not len(self._stats):
            raise ValueError("no batches recorded yet: fit with this ActivationStats first")
        if not (isinstance(index, int) and -n <= index < n):
            raise ValueError(f"layer index must be in [{-n}, {n}), got {index!r}; layers: "
                             f"{self.layer_names}")  # fmt: skip
        return index % n

    def plot_layer_stats(self, index: int) -> Figure:
        """Mean, standard deviation and near-zero share of layer `index` (as in `layer_names`)
        over the recorded training batches; returns the matplotlib figure."""
        from matplotlib.ticker import MaxNLocator

        from lamina.core.figures import new_figure

        layer = self._layer(index)
        fig = new_figure(figsize=(12, 3.5))
        axes = fig.subplots(1, 3)
        series = (self.means, self.stds, self.near_zero)
        titles = ("mean", "std", f"near-zero share (|x| < {self.eps:g})")
        for ax, values, title in zip(axes, series, titles, strict=True):
            ax.plot(self.iters, values[:, layer].numpy())
            ax.set_title(title)
            ax.set_xlabel("training batch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.suptitle(f"layer {layer}: {self.layer_names[layer]}")
        fig.tight_layout()
        return fig

    def color_dim(self, index: int) -> Figure:
        """The histogram of layer `index`'s values over the recorded batches as an image (time
        across, value up, log-count as colour); needs `with_hist=True`. A healthy layer shows
        a smooth band; a bright line at zero is a layer collapsing there."""

        from lamina.core.figures import new_figure

        if not self.with_hist:
            raise ValueError("color_dim needs histograms: ActivationStats(with_hist=True)")
        layer = self._layer(index)
        counts = self.hists[:, layer].log1p().T.numpy()  # (hist_bins, n_batches)
        fig = new_figure(figsize=(8, 4))
        ax = fig.subplots()
        low, high = self.hist_range
        ax.imshow(counts, origin="lower", aspect="auto", cmap="viridis",
                  extent=(self.iters[0], self.iters[-1] + 1, low, high))  # fmt: skip
        ax.set_xlabel("training batch")
        ax.set_ylabel("activation value")
        ax.set_title(f"layer {layer}: {self.layer_names[layer]}")
        fig.tight_layout()
        return fig
