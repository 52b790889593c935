"""Knowledge distillation: a model learns from trained teachers' answers beside the labels.

    distill: {teachers: [letters, letters-case], weight: 0.5, temperature: 2.0}

The loss of a batch is (1 − w)·CE(labels) + w·T²·KL(teachers ‖ model), both softmaxes
taken of logits divided by the temperature T (Hinton, Vinyals and Dean, 2015; T² keeps
the soft part's gradients the size of the hard part's). The teachers' probabilities are
averaged, so several models (or an ensemble folder) teach as one ensemble, and the model
learns at its own cost what the ensemble knows.

Each teacher sees the very images the model sees, augmentation included, mapped from
the model's normalisation to its own. A teacher's classes are matched to the model's by
name: a case-kept teacher (letters-case, 52 classes) gives a case-merged class the sum
of its two cases, and classes the model lacks (an alphanumeric teacher's digits for a
letters model) are dropped, the rest renormalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from charrec.errors import ConfigError
from charrec.train.config import DistillConfig


def class_map(teacher: Sequence[str], student: Sequence[str], source: str) -> torch.Tensor:
    """The 0/1 matrix (teacher classes × student classes) that sums a teacher's
    probabilities into the student's classes: same name, else the same name upper-cased."""
    index = {str(name): k for k, name in enumerate(student)}
    matrix = torch.zeros(len(teacher), len(student))
    for row, name in enumerate(teacher):
        column = index.get(str(name), index.get(str(name).upper()))
        if column is not None:
            matrix[row, column] = 1.0
    untaught = [str(student[k]) for k in range(len(student)) if not matrix[:, k].any()]
    if untaught:
        shown = " ".join(untaught[:8]) + (" ..." if len(untaught) > 8 else "")
        raise ConfigError(
            f"distillation teacher {source} knows no class named {shown}; a teacher must "
            "answer every class of the data (by name, or by both its cases)"
        )
    return matrix


class Teacher(nn.Module):
    """One trained model, frozen, answering in the student's classes and normalisation."""

    def __init__(
        self, model: nn.Module, matrix: torch.Tensor, scale: float, shift: float, source: str
    ) -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.register_buffer("matrix", matrix)
        self.scale, self.shift, self.source = scale, shift, source
        # An identity map (same classes, same order) costs no matrix product.
        same = matrix.shape[0] == matrix.shape[1] and torch.equal(matrix, torch.eye(len(matrix)))
        self.identity = bool(same)

    def probabilities(
        self, x: torch.Tensor, temperature: float, device_type: str = "cpu", bf16: bool = False
    ) -> torch.Tensor:
        """softmax(logits / T) in the student's classes, for student-normalised `x`; with
        `bf16` the network runs under bf16 autocast, the softmax and sums in fp32."""
        xi = x if (self.scale, self.shift) == (1.0, 0.0) else x * self.scale + self.shift
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            logits = self.model(xi)
        probs = torch.softmax(logits.float() / temperature, dim=1)
        if self.identity:
            return probs
        probs = probs @ self.matrix
        return probs / probs.sum(dim=1, keepdim=True).clamp_min(torch.finfo(probs.dtype).tiny)


def load_teacher(
    source: str, classes: Sequence[str], mean: float, std: float, image_size: int
) -> Teacher:
    """A run folder, ensemble folder or shipped model as a Teacher of a model trained on
    `classes` with inputs (pixels/255 − mean)/std."""
    from charrec.infer.ensemble import input_form, input_map, load_member

    member = load_member(source)
    form = input_form(member.meta)
    size, channels, ink = form["input_size"], form["channels"], form["ink"]
    if size != [image_size, image_size] or channels != 1 or ink != "white-on-black":
        raise ConfigError(
            f"distillation teacher {source} takes {channels}×{size[0]}×{size[1]} {ink} "
            f"images; the data are 1×{image_size}×{image_size} white-on-black"
        )
    matrix = class_map([str(c) for c in member.meta["classes"]], classes, str(source))
    scale, shift = input_map({"mean": mean, "std": std}, member.meta["preprocessing"])
    return Teacher(member.model, matrix, scale, shift, str(source))


class Teachers(nn.Module):
    """The configured teachers, averaged; `loss` blends their answers with the labels'."""

    def __init__(self, teachers: Sequence[Teacher], config: DistillConfig) -> None:
        super().__init__()
        self.teachers = nn.ModuleList(teachers)
        self.weight, self.temperature = float(config.weight), float(config.temperature)
        # The teachers run in bf16 where the model trains in it (set by the trainer).
        self.device_type, self.autocast = "cpu", False

    @classmethod
    def from_config(
        cls, config: DistillConfig, classes: Sequence[str], mean: float, std: float, size: int
    ) -> Teachers | None:
        if not config.teachers:
            return None
        teachers = [load_teacher(s, classes, mean, std, size) for s in config.teachers]
        return cls(teachers, config)

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """The teachers' softened probabilities of `x`, averaged."""
        probs = [
            teacher.probabilities(x, self.temperature, self.device_type, self.autocast)
            for teacher in self.teachers
        ]
        return torch.stack(probs).mean(dim=0)

    def soft_loss(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """T²·KL(teachers ‖ model) summed over the batch (like the summed cross-entropy)."""
        target = self.probabilities(x)
        log_model = F.log_softmax(logits.float() / self.temperature, dim=1)
        kl = F.kl_div(log_model, target, reduction="sum")
        return kl * self.temperature**2

    def loss(self, hard_loss: torch.Tensor, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """(1 − w)·the labels' summed loss + w·the teachers' summed loss."""
        return (1.0 - self.weight) * hard_loss + self.weight * self.soft_loss(x, logits)

    def describe(self) -> dict[str, Any]:
        """What model.json records of the distillation."""
        return {
            "teachers": [teacher.source for teacher in self.teachers],
            "weight": self.weight,
            "temperature": self.temperature,
        }
