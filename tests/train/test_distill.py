"""distill: a model trained on teachers' softened probabilities beside the labels."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from charrec.errors import ConfigError
from charrec.train.checkpoint import load_run
from charrec.train.config import DistillConfig
from charrec.train.distill import Teacher, Teachers, class_map


class _Constant(nn.Module):
    """A 'model' answering the same logits whatever it is shown."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def test_a_case_kept_teacher_gives_each_letter_the_sum_of_its_cases() -> None:
    matrix = class_map(["A", "B", "a", "b", "7"], ["A", "B"], "t")
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.2, 0.2]])
    merged = probs @ matrix
    assert merged[0].tolist() == pytest.approx([0.4, 0.4])  # the digit 7 is dropped
    teacher = Teacher(_Constant([0.0] * 5), matrix, 1.0, 0.0, "t")
    out = teacher.probabilities(torch.zeros(3, 1, 2, 2), temperature=1.0)
    # Uniform over five: A gets A+a, B gets B+b, renormalised without the 7.
    assert out.flatten().tolist() == pytest.approx([0.5] * 6)


def test_a_teacher_without_a_class_of_the_data_is_refused() -> None:
    # A case-merged teacher cannot tell a case-kept student which case it saw.
    with pytest.raises(ConfigError, match="letters knows no class named a b"):
        class_map(["A", "B"], ["A", "B", "a", "b"], "letters")


def test_the_soft_loss_vanishes_where_model_and_teachers_agree() -> None:
    logits = [2.0, 0.5, -1.0]
    teacher = Teacher(_Constant(logits), torch.eye(3), 1.0, 0.0, "t")
    teachers = Teachers([teacher], DistillConfig(teachers=["t"], weight=1.0, temperature=3.0))
    x = torch.zeros(4, 1, 2, 2)
    same = torch.tensor([logits] * 4)
    assert teachers.soft_loss(x, same).item() == pytest.approx(0.0, abs=1e-5)
    other = torch.tensor([[0.0, 0.0, 3.0]] * 4)
    assert teachers.soft_loss(x, other).item() > 0.1
    # weight w blends: (1 - w)·hard + w·soft.
    half = Teachers([teacher], DistillConfig(teachers=["t"], weight=0.25, temperature=3.0))
    blended = half.loss(torch.tensor(8.0), x, other)
    assert blended.item() == pytest.approx(0.75 * 8.0 + 0.25 * teachers.soft_loss(x, other).item())


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("distill.weight", 0.0, "share of the loss"),
        ("distill.weight", 1.5, "share of the loss"),
        ("distill.temperature", 0.0, "temperature must be > 0"),
        ("distill.teachers", [""], "each teacher names"),
    ],
)
def test_bad_distillation_settings_are_refused(tiny_config, key, value, words) -> None:
    with pytest.raises(ConfigError, match=words):
        tiny_config({key: value}).validate()


def test_a_student_learns_to_answer_like_its_teacher(run_tiny, real_data_dir) -> None:
    teacher_run = run_tiny({"training.epochs": 2, "training.seed": 1})
    overrides = {"training.epochs": 2, "data.limit": 300}
    plain = run_tiny(overrides)
    taught = run_tiny(
        {
            **overrides,
            "distill.teachers": [str(teacher_run.run_dir)],
            "distill.weight": 1.0,
            "distill.temperature": 1.0,
        }
    )
    meta = json.loads((taught.run_dir / "model.json").read_text())
    assert meta["distillation"] == {
        "teachers": [str(teacher_run.run_dir)],
        "weight": 1.0,
        "temperature": 1.0,
    }
    assert "distillation" not in json.loads((plain.run_dir / "model.json").read_text())
    # On the same images, the taught student agrees with its teacher more than the plain one.
    from charrec.data import load_dataset

    images = load_dataset("mnist", "test", real_data_dir).images[:500]
    x = torch.tensor(images).float().unsqueeze(1) / 255.0

    def answers(run_dir) -> torch.Tensor:
        model, m = load_run(run_dir)
        prep = m["preprocessing"]
        with torch.no_grad():
            return model((x - prep["mean"]) / prep["std"]).argmax(1)

    teacher = answers(teacher_run.run_dir)
    agree_taught = (answers(taught.run_dir) == teacher).float().mean().item()
    agree_plain = (answers(plain.run_dir) == teacher).float().mean().item()
    assert agree_taught > agree_plain


def test_a_teacher_of_other_classes_is_refused_before_training(run_tiny) -> None:
    with pytest.raises(ConfigError, match="knows no class named"):
        run_tiny({"distill.teachers": ["letters"]})


def test_a_teacher_sees_the_images_in_its_own_normalisation(run_tiny) -> None:
    from charrec.train.distill import load_teacher

    run = run_tiny()
    _, meta = load_run(run.run_dir)
    m0, s0 = meta["preprocessing"]["mean"], meta["preprocessing"]["std"]
    classes = [str(c) for c in meta["classes"]]
    teacher = load_teacher(str(run.run_dir), classes, mean=0.5, std=0.25, image_size=28)
    pixels = torch.rand(5, 1, 28, 28)
    student_x = (pixels - 0.5) / 0.25
    mapped = student_x * teacher.scale + teacher.shift
    assert torch.allclose(mapped, (pixels - m0) / s0, atol=1e-5)
    assert teacher.identity  # the same ten classes in the same order
    with pytest.raises(ConfigError, match="takes 1×28×28"):
        load_teacher(str(run.run_dir), classes, mean=0.5, std=0.25, image_size=32)
