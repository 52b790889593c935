"""`training.precision: auto`: bf16 for convolutional nets where bf16 is native, else fp32."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from charrec import machine
from charrec.train.precision import resolve_precision

CPU = torch.device("cpu")
CNN = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.LazyLinear(10))
MLP = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


@pytest.mark.parametrize(
    ("native", "model", "expected"),
    [(True, CNN, "bf16"), (False, CNN, "fp32"), (True, MLP, "fp32"), (False, MLP, "fp32")],
)
def test_auto_is_bf16_only_for_convolutions_on_native_bf16(
    monkeypatch: pytest.MonkeyPatch, native: bool, model: nn.Module, expected: str
) -> None:
    monkeypatch.setattr(machine, "computes_bf16_natively", lambda: native)
    assert resolve_precision("auto", CPU, model) == expected


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_an_explicit_precision_is_kept(monkeypatch: pytest.MonkeyPatch, precision: str) -> None:
    monkeypatch.setattr(machine, "computes_bf16_natively", lambda: precision == "fp32")
    assert resolve_precision(precision, CPU, CNN) == precision


def test_native_bf16_is_read_from_the_cpu_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "amx_tile", "amx_bf16"})
    assert machine.computes_bf16_natively()
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert machine.computes_bf16_natively()
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "fma"})
    assert not machine.computes_bf16_natively()


def test_a_run_records_the_precision_auto_chose(monkeypatch, run_tiny) -> None:
    monkeypatch.setattr(machine, "computes_bf16_natively", lambda: True)
    overrides = {"model.name": "keras-convnet", "model.options": {}}
    result = run_tiny({**overrides, "training.precision": "auto"})
    meta = json.loads((result.run_dir / "model.json").read_text())
    assert meta["precision"] == "bf16"
    monkeypatch.setattr(machine, "computes_bf16_natively", lambda: False)
    result = run_tiny({**overrides, "training.precision": "auto"})
    assert json.loads((result.run_dir / "model.json").read_text())["precision"] == "fp32"
