"""The models a server answers with: loaded once at start, chosen per request by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from charrec.errors import ConfigError
from charrec.serve.batching import MicroBatcher
from charrec.serve.errors import APIError


@dataclass
class ServedModel:
    name: str
    recognizer: Any
    batcher: MicroBatcher

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "classes": list(self.recognizer.classes),
            "card": dict(self.recognizer.card),
            "tta": getattr(self.recognizer, "tta", None),
        }


class ModelPool:
    """Recognizers by name; the first one is the default."""

    def __init__(self, models: Sequence[Any], max_batch: int = 64, tta: str | None = None) -> None:
        """`tta`: the test-time augmentation of the models loaded here by name or folder."""
        if not models:
            raise ConfigError("give at least one model to serve")
        self.models: dict[str, ServedModel] = {}
        for spec in models:
            recognizer = _load(spec, tta)
            name = recognizer.name
            if name in self.models:
                raise ConfigError(f"two models are named {name!r}; serve each name once")
            self.models[name] = ServedModel(name, recognizer, MicroBatcher(recognizer, max_batch))
        self.default = next(iter(self.models))

    def get(self, name: str | None) -> ServedModel:
        """The model called `name` (None: the default); 404 for any other name."""
        if name is None or name == "":
            return self.models[self.default]
        try:
            return self.models[name]
        except KeyError:
            raise APIError(
                404,
                "unknown_model",
                f"unknown model {name!r}; this server has: {', '.join(self.models)}",
            ) from None

    def names(self) -> list[str]:
        return list(self.models)


def _load(spec: Any, tta: str | None = None) -> Any:
    """A Recognizer as given, or loaded from a pretrained name or a run folder."""
    if hasattr(spec, "predict_many"):
        return spec
    import charrec

    return charrec.load(str(spec), tta=tta)
