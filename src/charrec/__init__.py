"""charrec: handwritten character recognition with neural networks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charrec.infer.recognizer import Recognizer

__version__ = "0.1.0"


def load(model: str | os.PathLike, **kwargs: Any) -> Recognizer:
    """A Recognizer for a shipped model ("letters", "digits", ...) or a run folder.

    `charrec.load("letters").predict("photo.png").label`; keyword arguments as in
    `charrec.infer.recognizer.load` (backend, device, preprocess).
    """
    # Imported on use, so that `import charrec` stays light (no torch).
    from charrec.infer.recognizer import load as load_recognizer

    return load_recognizer(model, **kwargs)
