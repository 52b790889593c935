"""ONNX export of a trained model, and ONNX Runtime as a Recognizer backend.

The exported graph takes what the preprocessing produces and returns probabilities:

    input  "images"         N×28×28 uint8, white ink on black (the model's canonical form)
    output "probabilities"  N×K float32, softmax over the classes in metadata "classes"

Normalisation, `(pixels / 255 - mean) / std` as in training, is inside the graph, so a
consumer in any language needs only the 28×28 image and the class list; N is dynamic.
The metadata (`metadata_props`, all JSON strings) holds `classes`, `preprocessing` (the
run's model.json entry), `model` (architecture and options), `input` and `output` (the
description above) and `charrec_version`.

`OnnxBackend` runs such a graph in ONNX Runtime (charrec.infer.onnx_runtime, which needs
no torch). The export of a model is cached in the per-user cache (`~/.cache/charrec/onnx`
on Linux), keyed by its weights and description; where the cache cannot be written, the
graph stays in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import charrec
from charrec.errors import CharrecError, ConfigError
from charrec.fileio import atomic_path
from charrec.infer.onnx_runtime import (
    DEFAULT_OPSET,
    GRAPH_VERSION,
    INPUT_NAME,
    OUTPUT_NAME,
    OnnxRuntimeBackend,
    cache_dir,
    session_options,
)

__all__ = ["DEFAULT_OPSET", "INPUT_NAME", "OUTPUT_NAME", "OnnxBackend", "cache_dir"]

MIN_OPSET = 18


class ExportError(CharrecError):
    """A model that cannot be exported, or an export that does not check out."""


class Deployed(nn.Module):
    """A classifier with its input normalisation and softmax: uint8 N×H×W → N×K."""

    def __init__(self, model: nn.Module, mean: float, std: float) -> None:
        super().__init__()
        self.model = model
        self.mean = float(mean)
        self.std = float(std)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.unsqueeze(1).float() / 255.0 - self.mean) / self.std
        return torch.softmax(self.model(x).float(), dim=1)


def max_opset() -> int:
    """The newest opset the installed onnx package knows."""
    import onnx.defs

    return int(onnx.defs.onnx_opset_version())


def check_opset(opset: int) -> int:
    """The opset, if this exporter can write it; a ConfigError naming the range if not."""
    top = max_opset()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= top:
        raise ConfigError(f"ONNX opset must be a whole number in {MIN_OPSET}..{top}, got {opset!r}")
    return opset


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress lines, deprecation notes and optional-op warnings."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def metadata(meta: dict[str, Any]) -> dict[str, str]:
    """The ONNX metadata_props of a model described by its model.json."""
    prep = meta["preprocessing"]
    size = [int(v) for v in prep["input_size"]]
    return {
        "classes": json.dumps([str(c) for c in meta["classes"]]),
        "preprocessing": json.dumps(prep),
        "model": json.dumps(meta.get("model", {})),
        "input": json.dumps(
            {
                "name": INPUT_NAME,
                "shape": ["N", *size],
                "dtype": "uint8",
                "ink": "white-on-black",
                "normalisation": "inside the graph: (pixels / 255 - mean) / std",
            }
        ),
        "output": json.dumps(
            {
                "name": OUTPUT_NAME,
                "shape": ["N", len(meta["classes"])],
                "dtype": "float32",
                "meaning": "softmax probabilities",
            }
        ),
        "charrec_version": charrec.__version__,
    }


def export_onnx(model: nn.Module, meta: dict[str, Any], *, opset: int = DEFAULT_OPSET):
    """The model as a checked `onnx.ModelProto` (see the module docstring for its form)."""
    import onnx

    check_opset(opset)
    prep = meta["preprocessing"]
    height, width = (int(v) for v in prep["input_size"])
    deployed = Deployed(model, prep["mean"], prep["std"]).eval()
    # Two images, not one: a batch of 1 would let the exporter specialise the batch size.
    example = torch.zeros((2, height, width), dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1)
    try:
        with _quiet_exporter(), torch.inference_mode(False), torch.no_grad():
            program = torch.onnx.export(
                deployed,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: batch},),
                opset_version=opset,
                verbose=False,
            )
    except Exception as exc:  # torch.export and the exporter raise many kinds
        name = meta.get("model", {}).get("name", type(model).__name__)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"model {name} cannot be exported to ONNX: {first}") from exc
    proto = program.model_proto
    written = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if written != opset:
        raise ExportError(f"the exporter wrote opset {written}, not the opset {opset} asked for")
    proto.producer_name = "charrec"
    proto.producer_version = charrec.__version__
    proto.doc_string = (
        f"{meta.get('model', {}).get('name', 'model')}: {INPUT_NAME} N×{height}×{width} uint8 "
        f"(white ink on black) → {OUTPUT_NAME} N×{len(meta['classes'])} float32"
    )
    # The exporter's own entries describe torch internals; ours describe the model.
    del proto.metadata_props[:]
    for key, value in metadata(meta).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported ONNX model does not check out: {exc}") from exc
    return proto


def write_onnx(proto: Any, path: str | os.PathLike) -> Path:
    """Write an ONNX model atomically (a reader never sees half a file); returns the path."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give a file name for the ONNX model")
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(proto.SerializeToString())
    except OSError as exc:
        raise CharrecError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """An exported model's metadata_props, JSON values decoded."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    out: dict[str, Any] = {}
    for entry in proto.metadata_props:
        try:
            out[entry.key] = json.loads(entry.value)
        except json.JSONDecodeError:
            out[entry.key] = entry.value
    return out


def max_difference(
    exported: bytes, model: nn.Module, meta: dict[str, Any], images: np.ndarray
) -> float:
    """Largest |ONNX Runtime − PyTorch| over the probabilities of `images` (N×28×28 uint8)."""
    import onnxruntime as ort

    prep = meta["preprocessing"]
    session = ort.InferenceSession(
        exported, sess_options=session_options(), providers=["CPUExecutionProvider"]
    )
    onnx_probs = session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]
    deployed = Deployed(model, prep["mean"], prep["std"]).eval()
    with torch.inference_mode():
        torch_probs = deployed(torch.from_numpy(np.array(images))).numpy()
    return float(np.abs(onnx_probs - torch_probs).max())


# ---------------------------------------------------------------- cached exports


def fingerprint(model: nn.Module, meta: dict[str, Any], opset: int) -> str:
    """A key that changes with the weights, the description, the opset and the exporter."""
    digest = hashlib.sha256()
    described = {key: meta.get(key) for key in ("model", "classes", "num_classes", "preprocessing")}
    header = [described, opset, GRAPH_VERSION, torch.__version__, charrec.__version__]
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def _save_in_cache(data: bytes, path: Path | None) -> None:
    # A cache that cannot be written costs a re-export next time, nothing else.
    if path is not None:
        with contextlib.suppress(OSError), atomic_path(path) as tmp:
            tmp.write_bytes(data)


def cached_export(model: nn.Module, meta: dict[str, Any], opset: int = DEFAULT_OPSET) -> bytes:
    """The serialised export of a model, from the cache when it holds it."""
    path = cache_dir() / f"{fingerprint(model, meta, opset)}.onnx"
    if path.is_file():
        with contextlib.suppress(OSError):
            return path.read_bytes()
    data = export_onnx(model, meta, opset=opset).SerializeToString()
    _save_in_cache(data, path)
    return data


def export_folder(
    model: nn.Module, meta: dict[str, Any], path: Path | None, opset: int = DEFAULT_OPSET
) -> bytes:
    """Export a model folder's model and cache it at `path` (charrec.infer.onnx_runtime's
    `cache_path` of the folder), where the Recognizer finds it without torch next time."""
    data = export_onnx(model, meta, opset=opset).SerializeToString()
    _save_in_cache(data, path)
    return data


class OnnxBackend(OnnxRuntimeBackend):
    """A Recognizer backend: the model exported to ONNX, run by ONNX Runtime on the CPU."""

    def __init__(
        self,
        model: nn.Module,
        meta: dict[str, Any],
        device: str = "cpu",
        *,
        threads: int | None = None,
        opset: int = DEFAULT_OPSET,
    ) -> None:
        if device not in ("cpu", "auto"):
            raise ConfigError(
                f"the onnx backend runs on the CPU; device {device!r} asked for "
                "(use the torch backend for a GPU)"
            )
        super().__init__(cached_export(model, meta, opset), meta["classes"], threads=threads)
