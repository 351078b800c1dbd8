"""A learner's model as a file that runs without lamina: ONNX, or a `torch.export` program (.pt2).

The domain-free half of exporting: each application describes what its model takes as a
`GraphInputs` (input names, an example batch, the dimensions that may vary, one line for
people), and this module traces the model once in eval mode, writes the file atomically
(`lamina.core.files.atomic_path`) and, before the file is put in place, runs the written file
on the example batch and on its first row and compares it with the eager model
(`torch.testing.assert_close`), and on any further batches the application gives (other
sizes, padding). A file that would answer differently is never written.

Recurrent layers (`nn.LSTM`, `nn.GRU`, the `torch.lstm` op) are traced with a free sequence
length: torch's default tracing unrolls them over the example's time steps, fixing the length
(pytorch/pytorch#115092), so while tracing, the decompositions over a `while_loop` that torch
2.13 ships for this (`torch.export._patches`, the route `torch.onnx.export` itself takes for
dynamic shapes) stand in. The .pt2 graph then keeps one `aten.lstm` call and the ONNX graph one
`LSTM` node, each taking any length.

The file holds the model alone: inputs already encoded (normalized pixels, category codes,
token ids) and raw outputs (logits, or values for a regression). A `.pt2` file is loaded with
`torch.export.load`, which deserializes Python objects: load only files you trust. ONNX needs
the optional `onnx`, `onnxscript` and `onnxruntime` packages (`pip install lamina[onnx]`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lamina.core.files import atomic_path
from lamina.core.modules import unwrap_model

Runner = Callable[[tuple[torch.Tensor, ...]], torch.Tensor]
_NON_LEAF_GRAD_WARNING = "The .grad attribute of a Tensor that is not a leaf Tensor"
_RNN_WEIGHT_LIST_WARNING = (
    r"The tensor attributes ([\w.]+\._flat_weights\[\d+\](, )?)+ were assigned"
)


@dataclass(frozen=True)
class GraphInputs:
    """What an exported model takes.

    Args:
        names: the inputs' names, in the order of the model's forward (ONNX input names).
        example: an example batch of at least two rows (a batch of one would fix the batch
            size at 1), one tensor per name, on the model's device.
        dynamic: per input, `{dimension: torch.export.Dim}` for the sizes that may vary.
        description: one line saying what each input holds (shown by `lamina info`).
        module: what to trace instead of the learner's model (e.g. a wrapper that starts a
            stateful model from a fresh state on every call); None: the model itself.
        limitation: a hint added to the error when the exporter cannot trace the model.
        checks: more batches, shaped unlike `example` (other sizes, padding), that the written
            file must answer as the model does.
    """

    names: tuple[str, ...]
    example: tuple[torch.Tensor, ...]
    dynamic: tuple[dict[int, Any], ...]
    description: str
    module: nn.Module | None = None
    limitation: str | None = None
    checks: tuple[tuple[torch.Tensor, ...], ...] = ()

    def __post_init__(self) -> None:
        if not (len(self.names) == len(self.example) == len(self.dynamic)):
            raise ValueError(
                f"GraphInputs needs one name, example tensor and dynamic dims per input, got "
                f"{len(self.names)}, {len(self.example)} and {len(self.dynamic)}"
            )
        if any(not isinstance(t, torch.Tensor) or t.ndim == 0 for t in self.example):
            raise ValueError("every example input must be a tensor with a batch dimension")


def export_torch_program(model: nn.Module, inputs: GraphInputs, path: str | Path) -> Path:
    """Trace `model` (or `inputs.module`) with `torch.export`, check and write it to `path`.

    Example:
        >>> export_torch_program(learn.model, inputs, "model.pt2")
        >>> program = torch.export.load("model.pt2").module()
        >>> raw = program(*batch)
    """
    program = _trace(model, inputs)
    with atomic_path(path) as temporary:
        torch.export.save(program, str(temporary))
        loaded = torch.export.load(str(temporary)).module()
        _verify(lambda args: loaded(*args), model, inputs, "the .pt2 program")
    return Path(path)


def export_onnx_model(
    model: nn.Module, inputs: GraphInputs, path: str | Path, opset: int | None = None
) -> Path:
    """Trace `model` as `export_torch_program` does and write it as ONNX to `path`, its
    inputs named `inputs.names` and its output `"output"`; checked with onnxruntime.

    Example:
        >>> export_onnx_model(learn.model, inputs, "model.onnx")
        >>> session = onnxruntime.InferenceSession("model.onnx")
        >>> (raw,) = session.run(None, {name: x.numpy() for name, x in zip(inputs.names, batch)})
    """
    if opset is not None and not (isinstance(opset, int) and opset >= 7):
        raise ValueError(
            f"opset must be an ONNX opset version (an int >= 7) or None, got {opset!r}"
        )
    try:
        import onnxruntime
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs onnx, onnxscript and onnxruntime ({error.name} is missing): "
            "pip install lamina[onnx]"
        ) from error
    program = _trace(model, inputs)
    # the ONNX exporter decomposes the program again: recurrent layers must stay free there too
    with _quiet_exporter(), _free_length_rnns(), atomic_path(path) as temporary:
        torch.onnx.export(program, (), str(temporary), input_names=list(inputs.names),
                          output_names=["output"], opset_version=opset, dynamo=True,
                          external_data=False, verbose=False)  # fmt: skip
        _name_dynamic_dims(temporary, inputs)
        session = onnxruntime.InferenceSession(str(temporary), providers=["CPUExecutionProvider"])

        def run(args: tuple[torch.Tensor, ...]) -> torch.Tensor:
            feed = {name: x.cpu().numpy() for name, x in zip(inputs.names, args, strict=True)}
            return torch.from_numpy(session.run(None, feed)[0])

        _verify(run, model, inputs, "the ONNX model")
    return Path(path)


def _name_dynamic_dims(path: Path, inputs: GraphInputs) -> None:
    """Give the ONNX file's free dimensions the names of their `torch.export.Dim`s.

    The exporter writes the tracer's symbols (`s52`, `s0`); a reader of the file (Netron, a
    server's schema) should see `batch` and `seq`. Each symbol an input dimension carries is
    renamed wherever it appears: inputs, outputs and intermediate shapes.
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    by_name = {value.name: value for value in graph.input}
    renames: dict[str, str] = {}
    for name, dims in zip(inputs.names, inputs.dynamic, strict=True):
        value = by_name.get(name)
        if value is None:
            continue
        shape = value.type.tensor_type.shape.dim
        for axis, dim in dims.items():
            symbol = shape[axis].dim_param if axis < len(shape) else ""
            wanted = getattr(dim, "__name__", None)
            if symbol and wanted:
                renames[symbol] = wanted
    if not renames:
        return
    for value in [*graph.input, *graph.output, *graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in renames:
                dim.dim_param = renames[dim.dim_param]
    onnx.save(model, str(path))


def _trace(model: nn.Module, inputs: GraphInputs) -> torch.export.ExportedProgram:
    module = inputs.module if inputs.module is not None else unwrap_model(model)
    with _eval_mode(unwrap_model(model)), _eval_mode(module), _quiet_exporter(), \
            _free_length_rnns():  # fmt: skip
        try:
            program = torch.export.export(module, inputs.example, dynamic_shapes=inputs.dynamic)
        except Exception as error:  # torch raises many kinds; the hint says what to do
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            hint = f" ({inputs.limitation})" if inputs.limitation else ""
            raise ValueError(
                f"torch {torch.__version__} cannot export {type(module).__name__} taking "
                f"{inputs.description}{hint}: {first}"
            ) from error
    _drop_stray_symbols(program)
    return program


def _drop_stray_symbols(program: torch.export.ExportedProgram) -> None:
    """Forget the ranges of sizes no node's shape mentions.

    Tracing an RNN's `while_loop` leaves the range of its step count (an unbacked size such as
    `u0`) in the program, though no node keeps it; `torch.export.load` would then warn, on every
    load, that the symbol is missing from the graph.
    """
    used: set[Any] = set()
    for node in program.graph.nodes:
        for value in torch.utils._pytree.tree_leaves(node.meta.get("val")):
            sizes = (*value.shape, *value.stride()) if isinstance(value, torch.Tensor) else (value,)
            for size in sizes:
                if isinstance(size, torch.SymInt):
                    used |= size.node.expr.free_symbols
    ranges = program.range_constraints  # the program's own dict (it has no setter)
    for symbol in [symbol for symbol in ranges if symbol not in used]:
        del ranges[symbol]


def _verify(run: Runner, model: nn.Module, inputs: GraphInputs, what: str) -> None:
    """The written file against the eager model: on the example, its first row, and `checks`."""
    module = inputs.module if inputs.module is not None else unwrap_model(model)
    first_row = tuple(x[:1] for x in inputs.example)
    for batch in (inputs.example, first_row, *inputs.checks):
        with _eval_mode(unwrap_model(model)), _eval_mode(module), torch.no_grad():
            expected = module(*batch)
        got = run(batch)
        try:
            torch.testing.assert_close(got.cpu(), expected.cpu(), atol=1e-4, rtol=1e-4)
        except AssertionError as error:
            detail = " ".join(str(error).split())[:200]
            raise ValueError(
                f"{what} gives outputs different from the model's on a batch shaped "
                f"{tuple(batch[0].shape)} (nothing was written): {detail}"
            ) from None


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def _free_length_rnns() -> Iterator[None]:
    """While tracing, `nn.LSTM` and `nn.GRU` keep their sequence length symbolic (see above)."""
    try:
        from torch.export._patches import (
            register_gru_while_loop_decomposition,
            register_lstm_while_loop_decomposition,
        )
    except ImportError:  # a torch without them: RNNs keep the example's length, as before
        yield
        return
    with register_lstm_while_loop_decomposition(), register_gru_while_loop_decomposition():
        yield


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    # torch's exporter logs about absent torchvision ops, warns about its own internals and,
    # when tracing fails, prints the partial graph to stderr: nothing a lamina user can act on
    # (the error raised says what failed).
    loggers = [logging.getLogger(name) for name in ("torch", "torch.onnx._internal.exporter."
                                                    "_registration")]  # fmt: skip
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            # dynamo probes `.grad` of the tensors a `while_loop` carries (the free-length RNNs)
            # and means to hide the warning that follows; under warnings-as-errors it cannot
            warnings.filterwarnings("ignore", _NON_LEAF_GRAD_WARNING, UserWarning)
            # nn.LSTM refreshes its cached weight list when tracing swaps its parameters;
            # harmless (it refreshes again on its next eager call), but export warns
            warnings.filterwarnings("ignore", _RNN_WEIGHT_LIST_WARNING, UserWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
