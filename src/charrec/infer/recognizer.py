"""The Recognizer: pictures of characters in, labels with probabilities out.

    recognizer = charrec.load("letters")             # a shipped model, or a run folder
    recognizer.predict("photo.jpg").label            # one source -> one Prediction
    recognizer.predict(["a.png", array, pil_image])  # a list -> a list, one forward pass
    recognizer.predict("note.png").merged            # a model with both cases of letters:
                                                     # the letter (cases summed) and its case

Each picture is preprocessed on its own (`charrec.infer.preprocess`: polarity, lighting,
crop, pen, EMNIST frame), then all of them go through the model at once. A picture with
no character in it raises `BlankImageError` instead of returning a confident guess, and
one that cannot be read raises `ImageError`; `predict_many(..., errors="collect")` returns
those errors in place, so one bad file does not stop the rest.

The model runs behind a backend: anything with `probabilities(images) -> N×K float32`
for N×28×28 uint8 images (white ink on black). `BACKENDS` maps a backend's name to its
factory `(model, meta, device) -> backend`: "torch" (`charrec.infer.torch_backend`) and
"onnx" (ONNX Runtime, `charrec.infer.onnx`). Each is imported when it is used: loading a
model with the onnx backend whose export is cached imports no torch at all, which is what
lets `charrec predict` answer in well under a second.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from charrec.errors import CharrecError, ConfigError, unknown_choice
from charrec.fileio import read_json
from charrec.infer.case import CaseAnswer, CaseReading
from charrec.infer.frame import OUTPUT_SIZE
from charrec.infer.imageio import ImageError, ImageSource, source_name
from charrec.infer.preprocess import (
    PreprocessConfig,
    Preprocessor,
    PreprocessResult,
    explain,
)
from charrec.infer.pretrained import is_pretrained, list_pretrained, pretrained_dir

if TYPE_CHECKING:
    from torch import nn

    from charrec.infer.constrain import Constraint
    from charrec.infer.read import Reading

# The most characters `Recognizer.read` accepts in one line: more than a form field or a
# name holds, so most likely not one line of text.
DEFAULT_MAX_CHARS = 64

__all__ = [
    "BACKENDS",
    "Backend",
    "Prediction",
    "Recognizer",
    "load",
]

# Inputs per forward pass in predict_arrays: bounds memory, and is big enough for full speed.
CHUNK = 1024
# Batches smaller than this run on one thread in the torch backend (ONNX Runtime's has its
# own threshold). Splitting a few images' small convolutions across cores gains little,
# and when the cores are busy torch's threads wait on each other: one image through a VGG
# the size of recipes/digits.yaml's took 1.5 ms (median) on one thread and 20-29 ms on
# two, on a 2-core machine under a load average of 15.
SMALL_BATCH = 16


class Backend(Protocol):
    """Runs the model: N×28×28 uint8 images (white ink on black) → N×K probabilities."""

    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


def torch_backend(model: nn.Module, meta: dict[str, Any], device: str = "cpu") -> Backend:
    """The model in PyTorch (charrec.infer.torch_backend)."""
    from charrec.infer.torch_backend import TorchBackend

    return TorchBackend(model, meta, device)


def onnx_backend(model: nn.Module, meta: dict[str, Any], device: str = "cpu") -> Backend:
    """The model exported to ONNX and run by ONNX Runtime (imported only when asked for)."""
    from charrec.infer.onnx import OnnxBackend

    return OnnxBackend(model, meta, device)


BACKENDS: dict[str, Callable[[nn.Module, dict[str, Any], str], Backend]] = {
    "torch": torch_backend,
    "onnx": onnx_backend,
}


@dataclass(frozen=True)
class Prediction:
    """What the model made of one picture."""

    # The picture's name: its path, or "<array>", "<bytes>", "<image>", "<stream>".
    source: str
    # The most probable class, and its probability.
    label: str
    probability: float
    # The top_k classes, most probable first: (label, probability) pairs.
    top: list[tuple[str, float]]
    # The 28×28 uint8 image the model saw (white ink on black).
    seen: np.ndarray = field(repr=False)
    # What the preprocessing decided (PreprocessResult.to_dict()): polarity, box, contrast.
    preprocessing: dict[str, Any]
    # Where the enlarged seen image was saved (explain=True), else None.
    explained: str | None = None
    # For a model that keeps both cases of letters apart (52 or 62 classes): the letter
    # with its cases' probabilities summed, and its case (charrec.infer.case); else None.
    merged: CaseAnswer | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, without the image."""
        data: dict[str, Any] = {
            "source": self.source,
            "label": self.label,
            "probability": self.probability,
            "top": [{"label": label, "probability": p} for label, p in self.top],
            "preprocessing": self.preprocessing,
        }
        if self.merged is not None:
            data["merged"] = self.merged.to_dict()
        if self.explained is not None:
            data["explained"] = self.explained
        return data


def preprocess_config_for(meta: dict[str, Any], card: dict[str, Any]) -> PreprocessConfig:
    """How pictures must be framed for this model: as its training data was.

    A model card may say so itself ("preprocess": a PreprocessConfig as a dict), else
    model.json's `preprocessing.frame` (what training recorded, `data.frame`); a model
    from before that record gets MNIST's frame (20 px, centred by mass) if it was trained
    on MNIST and EMNIST's (24 px, centred by the box) otherwise.
    """
    if isinstance(card.get("preprocess"), dict):
        return PreprocessConfig.from_dict(card["preprocess"])
    recorded = (meta.get("preprocessing") or {}).get("frame")
    if recorded is not None:
        return PreprocessConfig(style=recorded)
    data = meta.get("data") or {}
    style = "mnist" if data.get("name") == "mnist" else "emnist"
    return PreprocessConfig(style=style)


def run_card(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The model-card facts a run folder holds (model.json, and metrics.json if present)."""
    data = meta.get("data") or {}
    card: dict[str, Any] = {
        "name": str(folder),
        "description": f"{meta['model']['name']} trained on {data.get('name', 'unknown data')}",
        "classes": list(meta["classes"]),
        "data": data.get("name"),
        "model": meta["model"]["name"],
        "parameters": meta.get("parameters"),
        "epoch": meta.get("epoch"),
        "val_accuracy": (meta.get("metrics") or {}).get("val_accuracy"),
        "test_accuracy": None,
    }
    metrics_path = folder / "metrics.json"
    if metrics_path.is_file():
        metrics = read_json(metrics_path)
        test = metrics.get("test") if isinstance(metrics, dict) else None
        if isinstance(test, dict):
            card["test_accuracy"] = test.get("accuracy")
    return card


def _is_path_like(model: str | os.PathLike) -> bool:
    """Whether a model argument names a folder rather than a shipped model."""
    if isinstance(model, os.PathLike):
        return True
    return os.sep in model or "/" in model or model.startswith((".", "~"))


def _resolve(model: str | os.PathLike) -> tuple[Path, str, bool]:
    """(folder, name, shipped) of a model argument: a shipped model's name or a run folder."""
    if not isinstance(model, (str, os.PathLike)):
        raise ConfigError(
            f"a model is a pretrained name or a run folder path, not a {type(model).__name__}"
        )
    if not _is_path_like(model) and is_pretrained(str(model)):
        return pretrained_dir(str(model)), str(model), True
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder, str(model), False
    if _is_path_like(model):
        raise ConfigError(f"run folder {model} not found")
    names = list_pretrained()
    choices = f"pretrained models: {', '.join(names)}" if names else "no pretrained models ship"
    raise ConfigError(f"unknown model {model!r}: not a run folder, and not pretrained ({choices})")


def _card(folder: Path, meta: dict[str, Any], shipped: bool) -> dict[str, Any]:
    """A shipped model's or an ensemble's card; for a run folder, the facts of its files."""
    card_path = folder / "card.json"
    has_card = shipped or (meta.get("model") or {}).get("name") == "ensemble"
    return read_json(card_path) if has_card and card_path.is_file() else run_card(folder, meta)


class Recognizer:
    """A trained model with the preprocessing that fits it. Build it with `load()`."""

    def __init__(
        self,
        model: nn.Module | None,
        meta: dict[str, Any],
        *,
        name: str,
        card: dict[str, Any] | None = None,
        backend: str = "torch",
        device: str = "cpu",
        preprocess: PreprocessConfig | None = None,
        runner: Backend | None = None,
        tta: str | None = None,
    ) -> None:
        """`runner`, a backend already built (e.g. from a cached ONNX export), stands in for
        `model`, which may then be None. `tta` names a test-time augmentation policy
        (charrec.evaluate.tta): each picture's probabilities averaged over its views."""
        if backend not in BACKENDS:
            raise unknown_choice("backend", backend, list(BACKENDS))
        if tta is not None:
            from charrec.evaluate.tta import check_policy

            check_policy(tta)
        self.tta = tta
        self.name = name
        self.meta = meta
        self.classes: list[str] = [str(c) for c in meta["classes"]]
        # How to answer the letter and its case; None for a model without case classes.
        self.case_reading = CaseReading.of(self.classes)
        self.card: dict[str, Any] = card if card is not None else {}
        self.preprocessor = Preprocessor(preprocess or preprocess_config_for(meta, self.card))
        self.backend_name = backend
        if runner is None and model is None:
            raise ConfigError("a Recognizer needs a model or a ready backend (runner)")
        self.backend: Backend = runner or BACKENDS[backend](model, meta, device)

    def with_tta(self, tta: str | None) -> Recognizer:
        """This recognizer with another test-time augmentation policy (None: none), sharing
        its network and preprocessing; itself when the policy is the same."""
        if tta == self.tta:
            return self
        if tta is not None:
            from charrec.evaluate.tta import check_policy

            check_policy(tta)
        other = copy.copy(self)
        other.tta = tta
        return other

    @property
    def temperature(self) -> float:
        """The temperature folded into the model's logits by calibration (1.0 if none)."""
        calibration = self.meta.get("calibration") or {}
        return float(calibration.get("temperature", 1.0))

    def __repr__(self) -> str:
        tta = f", tta={self.tta!r}" if self.tta else ""
        return (
            f"Recognizer({self.name!r}, {len(self.classes)} classes, "
            f"backend={self.backend_name!r}, style={self.preprocessor.config.style!r}{tta})"
        )

    @classmethod
    def from_pretrained(cls, name: str, **kwargs: Any) -> Recognizer:
        """A model shipped with charrec, by name (`list_pretrained()`)."""
        return cls._from_folder(pretrained_dir(name), name, shipped=True, **kwargs)

    @classmethod
    def from_run(cls, path: str | os.PathLike, **kwargs: Any) -> Recognizer:
        """The trained model of a run folder (`charrec train --out FOLDER`)."""
        return cls._from_folder(Path(path).expanduser(), str(path), shipped=False, **kwargs)

    @classmethod
    def _from_folder(cls, folder: Path, name: str, *, shipped: bool, **kwargs: Any) -> Recognizer:
        if kwargs.get("backend") == "onnx" and kwargs.get("device", "cpu") in ("cpu", "auto"):
            return cls._from_folder_onnx(folder, name, shipped=shipped, **kwargs)
        from charrec.train.checkpoint import load_run

        model, meta = load_run(folder)
        return cls(model, meta, name=name, card=_card(folder, meta, shipped), **kwargs)

    @classmethod
    def _from_folder_onnx(
        cls, folder: Path, name: str, *, shipped: bool, **kwargs: Any
    ) -> Recognizer:
        """The onnx backend from the cached export of the folder's checkpoint, without
        torch; exported once (with torch) when the cache does not hold it yet."""
        from charrec.infer.onnx_runtime import OnnxRuntimeBackend, cache_path

        cached = cache_path(folder)
        if cached is not None and cached.is_file():
            meta = read_json(folder / "model.json")
            exported = cached.read_bytes()
        else:
            from charrec.infer.onnx import export_folder
            from charrec.train.checkpoint import load_run

            model, meta = load_run(folder)
            where = cached.parent if cached is not None else "memory only: cache not writable"
            print(
                f"charrec: exporting model {name} to ONNX for the fast backend, once "
                f"(cached in {where})",
                file=sys.stderr,
            )
            exported = export_folder(model, meta, cached)
        runner = OnnxRuntimeBackend(exported, meta["classes"])
        return cls(
            None, meta, name=name, card=_card(folder, meta, shipped), runner=runner, **kwargs
        )

    # ------------------------------------------------------------------ predicting

    def predict(
        self,
        sources: ImageSource | Sequence[ImageSource],
        top_k: int = 3,
        *,
        explain: bool = False,
    ) -> Prediction | list[Prediction]:
        """One source → a Prediction; a list (or tuple) of sources → a list of them.

        A source is a path, bytes, a binary file object, a NumPy array (H×W or H×W×C, uint8
        or float in [0, 1]) or a PIL image. Raises ImageError / BlankImageError for a
        picture that cannot be read or holds no character. With `explain`, the 28×28 image
        the model saw is saved next to each input file as `<stem>.seen.png`.
        """
        if isinstance(sources, (list, tuple)):
            return self.predict_many(sources, top_k, errors="raise", explain=explain)  # type: ignore[return-value]
        return self.predict_many([sources], top_k, errors="raise", explain=explain)[0]  # type: ignore[return-value]

    def predict_many(
        self,
        sources: Sequence[ImageSource],
        top_k: int = 3,
        *,
        errors: Literal["raise", "collect"] = "raise",
        explain: bool = False,
    ) -> list[Prediction | ImageError]:
        """Predictions for many sources in one forward pass, in order.

        errors="collect": a picture that cannot be read or holds no character gives its
        ImageError in its place, and the rest are still predicted; "raise" raises it.
        """
        if errors not in ("raise", "collect"):
            raise unknown_choice("errors policy", str(errors), ["raise", "collect"])
        top_k = self.check_top_k(top_k)
        results: list[Any] = []
        for source in sources:
            try:
                result = self.preprocessor(source)
                saved = str(self._explain(source)) if explain else None
                results.append((result, saved))
            except ImageError as exc:
                if errors == "raise":
                    raise
                results.append(exc)
        good = [r for r in results if not isinstance(r, ImageError)]
        if not good:
            return list(results)
        probs = self.predict_arrays(np.stack([result.image for result, _ in good]))
        ranked = iter(zip(good, probs, strict=True))
        out: list[Prediction | ImageError] = []
        for item in results:
            if isinstance(item, ImageError):
                out.append(item)
                continue
            (result, saved), p = next(ranked)
            out.append(self._prediction(result, p, top_k, saved))
        return out

    def read(
        self,
        source: ImageSource,
        top_k: int = 3,
        *,
        constraint: Constraint | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> Reading:
        """Read a line of handprinted characters (a word, a code, a form field).

        Returns a Reading: `.text` with the spaces between words, and `.characters`, each
        with its box in the picture, top_k guesses and confidence (and, for a model that
        keeps both cases of letters, `.merged`: the letter and its case). `constraint` (a
        `charrec.infer.constrain.Pattern` or `WordList`) adds `.constrained`, the most
        probable reading that fits it. See `charrec.infer.read`.
        """
        from charrec.infer.read import read_line

        return read_line(self, source, top_k=top_k, constraint=constraint, max_chars=max_chars)

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N×K float32) of images already in the model's form.

        `images`: N×28×28 uint8, white ink on black, framed like the training data (no
        preprocessing is done here). For benchmarks and evaluation. With the
        recognizer's `tta` policy, each image's probabilities are averaged over its views.
        """
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            kind = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
            raise ConfigError(f"predict_arrays takes a uint8 NumPy array, got {kind}")
        if images.ndim != 3 or images.shape[1:] != (OUTPUT_SIZE, OUTPUT_SIZE):
            raise ConfigError(
                f"predict_arrays takes N×{OUTPUT_SIZE}×{OUTPUT_SIZE} images, "
                f"got shape {images.shape}"
            )
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if len(images) <= CHUNK:
            return self._probabilities(images)
        parts = [
            self._probabilities(images[first : first + CHUNK])
            for first in range(0, len(images), CHUNK)
        ]
        return np.concatenate(parts)

    def _probabilities(self, images: np.ndarray) -> np.ndarray:
        """The backend's probabilities; with `tta`, every view in one batch, then averaged."""
        if self.tta is None:
            return self.backend.probabilities(images).astype(np.float32, copy=False)
        from charrec.evaluate.tta import views

        stacked = np.concatenate(views(images, self.tta))
        probs = self.backend.probabilities(stacked).reshape(-1, len(images), len(self.classes))
        return probs.mean(axis=0, dtype=np.float64).astype(np.float32)

    # ------------------------------------------------------------------ helpers

    def check_top_k(self, top_k: int) -> int:
        """`top_k` as an int, if it is a whole number from 1 to the number of classes."""
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)):
            raise ConfigError(f"top_k must be a whole number, got {top_k!r}")
        if not 1 <= top_k <= len(self.classes):
            raise ConfigError(
                f"top_k must lie in 1..{len(self.classes)} (the model's classes), got {top_k}"
            )
        return int(top_k)

    def _explain(self, source: ImageSource) -> Path:
        """Save the seen image next to the input file, named as `preprocess.explain` names it."""
        if not isinstance(source, (str, os.PathLike)):
            raise ImageError(
                f"{source_name(source)}: explain saves the "
                "seen image next to the input file, so the source must be a path"
            )
        try:
            return explain(source, preprocessor=self.preprocessor)
        except OSError as exc:
            raise ImageError(
                f"{source}: cannot save the seen image next to it ({exc.strerror or exc})"
            ) from None

    def _prediction(
        self, result: PreprocessResult, probs: np.ndarray, top_k: int, saved: str | None
    ) -> Prediction:
        # A stable sort: ties keep the class order, so equal inputs give equal rankings.
        order = np.argsort(-probs, kind="stable")[:top_k]
        top = [(self.classes[i], float(probs[i])) for i in order]
        return Prediction(
            source=result.name,
            label=top[0][0],
            probability=top[0][1],
            top=top,
            seen=result.image,
            preprocessing=result.to_dict(),
            explained=saved,
            merged=None if self.case_reading is None else self.case_reading.answer(probs),
        )


def model_folder(model: str | os.PathLike) -> Path:
    """The folder of a shipped model's name or a run folder (ConfigError if neither)."""
    return _resolve(model)[0]


def model_classes(model: str | os.PathLike) -> list[str] | None:
    """The class names a shipped model or run folder predicts, read from its model.json
    without loading it (None if it cannot be read: loading will say why)."""
    folder, _, _ = _resolve(model)
    try:
        meta = read_json(folder / "model.json")
        return [str(c) for c in meta["classes"]]
    except (CharrecError, KeyError, TypeError):
        return None


def load(
    model: str | os.PathLike,
    *,
    backend: str = "torch",
    device: str = "cpu",
    preprocess: PreprocessConfig | None = None,
    tta: str | None = None,
) -> Recognizer:
    """A Recognizer for a shipped model's name (`list_pretrained()`) or a run folder.

    A bare name is looked up among the shipped models first; write a folder of the same
    name as `./name`. `preprocess` overrides the framing chosen for the model. `tta`
    ("shift", 5 views, or "affine", 9) averages each picture's probabilities over altered
    copies of it: a little more accurate on people's writing, at that many times the
    model's work.
    """
    if backend not in BACKENDS:
        raise unknown_choice("backend", backend, list(BACKENDS))
    if tta is not None:
        from charrec.evaluate.tta import check_policy

        check_policy(tta)  # before loading, which may export the model to ONNX first
    folder, name, shipped = _resolve(model)
    return Recognizer._from_folder(
        folder,
        name,
        shipped=shipped,
        backend=backend,
        device=device,
        preprocess=preprocess,
        tta=tta,
    )
