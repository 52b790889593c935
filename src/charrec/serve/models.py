"""The models a server answers with: loaded once at start, chosen per request by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from charrec.errors import ConfigError
from charrec.serve.batching import MicroBatcher
from charrec.serve.errors import APIError

# A request's `tta` that turns the server's test-time augmentation off.
NO_TTA = "none"


@dataclass
class ServedModel:
    name: str
    recognizer: Any
    batcher: MicroBatcher
    # The same network under other test-time augmentation policies, made when first asked
    # for; each has its own batcher, since a batch goes through one policy.
    variants: dict[str | None, tuple[Any, MicroBatcher]] = field(default_factory=dict)

    def with_tta(self, tta: str | None) -> tuple[Any, MicroBatcher]:
        """The recognizer and batcher for a request's `tta`: None keeps the server's
        policy, "none" turns it off, a policy's name asks for it (422 for another word)."""
        if tta is None:
            return self.recognizer, self.batcher
        policy = None if tta == NO_TTA else tta
        if policy == getattr(self.recognizer, "tta", None):
            return self.recognizer, self.batcher
        if policy not in self.variants:
            from charrec.evaluate.tta import POLICIES

            if policy is not None and policy not in POLICIES:
                raise APIError(
                    422,
                    "invalid_request",
                    f"unknown tta {tta!r}; choose from: {', '.join([*POLICIES, NO_TTA])}",
                )
            if not hasattr(self.recognizer, "with_tta"):
                raise APIError(
                    422, "invalid_request", f"model {self.name!r} has one fixed tta policy"
                )
            variant = self.recognizer.with_tta(policy)
            self.variants[policy] = (variant, MicroBatcher(variant, self.batcher.max_batch))
        return self.variants[policy]

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
