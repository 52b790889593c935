"""Every committed recipe is a valid config whose model builds for its data's classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from charrec.train import TrainConfig

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


def test_there_are_recipes() -> None:
    assert len(RECIPES) >= 8


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_validates_and_builds_its_model(path: Path) -> None:
    from charrec.data.registry import get_spec
    from charrec.models import create_model

    config = TrainConfig.from_yaml(path).validate()
    classes = len(get_spec(config.data.name).classes)
    model = create_model(config.model.name, classes, **config.model.options)
    assert model.num_classes == classes
