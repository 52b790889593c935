"""--device auto|cpu|cuda: auto picks the GPU when torch sees one; cuda without one is a
clear error before anything is written; a GPU run works where a GPU exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from charrec.cli import main
from charrec.errors import ConfigError
from charrec.train.reproducibility import resolve_device


def test_auto_follows_what_torch_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match="no CUDA GPU; use cpu or auto"):
            resolve_device(name)


@pytest.mark.realdata
def test_cli_cuda_without_a_gpu_exits_2_and_writes_nothing(
    real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "run"
    args = ["train", "--data-dir", str(real_data_dir), "--limit", "300", "--device", "cuda"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "device 'cuda'" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_a_tiny_run_trains_on_the_gpu(run_tiny) -> None:
    result = run_tiny({"training.device": "auto"})
    assert result.metrics["device"].startswith("cuda")
    assert next(result.model.parameters()).device.type == "cuda"
