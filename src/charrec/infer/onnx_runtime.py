"""ONNX Runtime as a Recognizer backend, and the cache of exported models; no torch here.

An exported model (see charrec.infer.onnx for the graph) is cached in the per-user cache,
`~/.cache/charrec/onnx` on Linux. A model folder's export is keyed by the bytes of its
checkpoint (model.safetensors and model.json), the opset, the graph's version and the
charrec and torch versions, so that finding it needs no torch: `charrec predict` with a
cached export starts, loads and answers without importing torch (seconds saved).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

import charrec

# The lowest opset torch's exporter writes natively; ONNX Runtime has run it since 1.14.
DEFAULT_OPSET = 18
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
# Bumped whenever the exported graph changes, so that cached exports are redone.
GRAPH_VERSION = 1
_CHECKPOINT = ("model.json", "model.safetensors")
# Batches smaller than this run on one thread. ONNX Runtime's workers do not spin (see
# `session_options`), so unlike torch's they stay quick on busy cores, and a few images
# already split well: four through the ResNet-14 `letters` took 5.48 ms on one thread and
# 3.20 ms on two (CPU 6.07 ms), nine (a line being read) 12.45 and 6.87 ms (CPU 13.31), on
# a quiet 2-core AMD EPYC; with three busy processes beside them, two threads were still
# no slower. One picture keeps one thread: the second saves less than it costs.
SMALL_BATCH = 4


def cache_dir() -> Path:
    """Where exported models are cached (e.g. ~/.cache/charrec/onnx on Linux)."""
    return Path(platformdirs.user_cache_dir("charrec")) / "onnx"


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def folder_key(folder: str | os.PathLike[str], opset: int = DEFAULT_OPSET) -> str | None:
    """The cache key of a model folder's export; None if its checkpoint cannot be read."""
    digest = hashlib.sha256()
    header = f"{opset}|{GRAPH_VERSION}|{charrec.__version__}|{_torch_version()}"
    digest.update(header.encode())
    for name in _CHECKPOINT:
        try:
            digest.update((Path(folder) / name).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()[:32]


def cache_path(folder: str | os.PathLike[str], opset: int = DEFAULT_OPSET) -> Path | None:
    """Where the export of a model folder is (or will be) cached; None if unreadable."""
    key = folder_key(folder, opset)
    return None if key is None else cache_dir() / f"folder-{key}.onnx"


def default_threads() -> int:
    """Intra-op threads: one per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def session_options(threads: int | None = None) -> Any:
    """ONNX Runtime options: all graph optimisations, one parallel region at a time.

    `threads` is the intra-op pool (None: one per core). Spinning threads are turned off:
    waiting workers would burn cores that other processes and the preprocessing of the
    next image need.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxRuntimeBackend:
    """A Recognizer backend: an exported model (bytes) run by ONNX Runtime on the CPU."""

    def __init__(
        self, exported: bytes, classes: list[str] | None = None, *, threads: int | None = None
    ) -> None:
        import onnxruntime as ort

        self.classes = [str(c) for c in classes or []]
        self._model = exported
        options = session_options(threads)
        self.threads = options.intra_op_num_threads
        self.session = ort.InferenceSession(
            self._model, sess_options=options, providers=["CPUExecutionProvider"]
        )
        # A second session on one thread for a few images, made when first needed: handing
        # one picture's small convolutions to a second thread costs more than it saves (as
        # in the torch backend).
        self._single = None

    def _session_for(self, count: int) -> Any:
        if count >= SMALL_BATCH or self.threads == 1:
            return self.session
        if self._single is None:
            import onnxruntime as ort

            self._single = ort.InferenceSession(
                self._model, sess_options=session_options(1), providers=["CPUExecutionProvider"]
            )
        return self._single

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """N×28×28 uint8 images → N×K float32 probabilities."""
        feed = {INPUT_NAME: np.ascontiguousarray(images, dtype=np.uint8)}
        return self._session_for(len(feed[INPUT_NAME])).run([OUTPUT_NAME], feed)[0]
