"""ONNX models in bundles: checked from verified bytes, run with onnxruntime (CPU) deterministically.

Before a session is created the model is refused when it references external data outside the
bundle (or any not listed in the manifest), uses an operator domain onnxruntime's CPU provider
does not implement, or declares an input/output shape that contradicts the bundle's
``input.json`` / ``task.json``. The session runs on the CPU provider with one intra-op and one
inter-op thread, sequential execution, deterministic compute on, and the graph optimisation
level `GRAPH_OPTIMIZATION_LEVEL` (recorded in the model's `runtime` facts).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from samd_core.bundle.errors import BundleIntegrityError

__all__ = ["GRAPH_OPTIMIZATION_LEVEL", "STANDARD_DOMAINS", "onnx_runner"]

#: onnxruntime graph optimisation level used for every bundle (recorded, never the runtime default).
GRAPH_OPTIMIZATION_LEVEL = "ORT_ENABLE_BASIC"
#: Operator domains the CPU provider implements.
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")


def _bad(name: str, msg: str) -> BundleIntegrityError:
    return BundleIntegrityError(f"bundle file {name!r}: {msg}", kind="content", file=name)


def _graphs(graph: Any) -> list[Any]:
    out = [graph]
    for node in graph.node:
        for attr in node.attribute:
            if attr.g is not None and attr.HasField("g"):
                out += _graphs(attr.g)
            for g in attr.graphs:
                out += _graphs(g)
    return out


def _inline_external(model: Any, name: str, contents: Mapping[str, bytes]) -> None:
    from onnx.external_data_helper import uses_external_data

    base = pathlib.PurePosixPath(name).parent
    for graph in _graphs(model.graph):
        for t in graph.initializer:
            if not uses_external_data(t):
                continue
            info = {e.key: e.value for e in t.external_data}
            loc = info.get("location", "")
            p = pathlib.PurePosixPath(loc)
            if not loc or p.is_absolute() or ".." in p.parts or "\\" in loc:
                raise _bad(name, f"tensor {t.name[:60]!r} references external data outside the bundle ({loc[:80]!r})")
            rel = (base / p).as_posix()
            if rel not in contents:
                raise _bad(name, f"tensor {t.name[:60]!r} references external data {rel!r} not listed in the bundle")
            data = contents[rel]
            off, length = int(info.get("offset", 0)), int(info.get("length", len(data)))
            if off < 0 or length < 0 or off + length > len(data):
                raise _bad(name, f"tensor {t.name[:60]!r}: external data range outside {rel!r}")
            t.raw_data = data[off : off + length]
            del t.external_data[:]
            t.data_location = 0  # DEFAULT


def _dims(value_info: Any) -> list[int | None]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]


def _check_shape(name: str, what: str, declared: list[int | None], expected: Sequence[int | tuple[int, ...]]) -> None:
    if len(declared) != len(expected):
        raise _bad(name, f"model {what} has {len(declared)} axes; the bundle spec needs {len(expected)} "
                         f"(batch, channels, spatial)")
    for i, (d, e) in enumerate(zip(declared, expected, strict=True)):
        allowed = e if isinstance(e, tuple) else (e,)
        if d is not None and d != 0 and d not in allowed:
            raise _bad(name, f"model {what} axis {i} is {d}; the bundle spec needs {allowed[0] if len(allowed) == 1 else allowed}")


def onnx_runner(
    name: str,
    contents: Mapping[str, bytes],
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int | tuple[int, ...]],
) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """Check the ONNX model ``contents[name]`` and return ``(run, runtime facts)``.

    Parameters
    ----------
    input_shape : sequence of int
        ``(batch, channels, *spatial)``; batch 1.
    output_shape : sequence of int or tuple of int
        Expected output dims (a tuple lists accepted alternatives, e.g. channels ``(2, 1)``).
    """
    import onnx
    import onnxruntime as ort

    try:
        model = onnx.load_model_from_string(contents[name])
    except Exception as exc:  # protobuf DecodeError and friends
        raise _bad(name, f"not a readable ONNX model ({type(exc).__name__})") from exc
    _inline_external(model, name, contents)
    for graph in _graphs(model.graph):
        for node in graph.node:
            if node.domain not in STANDARD_DOMAINS:
                raise _bad(name, f"operator {node.op_type[:40]!r} of custom domain {node.domain[:60]!r} is not "
                                 f"implemented by the onnxruntime CPU provider (allowed domains {list(STANDARD_DOMAINS)})")
    init = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise _bad(name, f"the model must have exactly one input and one output; has {len(inputs)} and "
                         f"{len(model.graph.output)}")
    _check_shape(name, "input", _dims(inputs[0]), list(input_shape))
    _check_shape(name, "output", _dims(model.graph.output[0]), list(output_shape))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, GRAPH_OPTIMIZATION_LEVEL)
    deterministic = hasattr(so, "use_deterministic_compute")
    if deterministic:
        so.use_deterministic_compute = True
    so.log_severity_level = 3
    try:
        session = ort.InferenceSession(model.SerializeToString(), sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/NotImplemented types
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise _bad(name, f"onnxruntime cannot run this model: {first}") from exc
    in_name = session.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        out = session.run(None, {in_name: np.ascontiguousarray(x, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)

    facts = {"format": "onnx", "runtime": "onnxruntime", "runtime_version": ort.__version__,
             "provider": "CPUExecutionProvider", "intra_op_threads": 1, "inter_op_threads": 1,
             "execution_mode": "ORT_SEQUENTIAL", "graph_optimization_level": GRAPH_OPTIMIZATION_LEVEL,
             "deterministic_compute": deterministic, "opset": [int(o.version) for o in model.opset_import]}
    return run, facts
