"""ONNX export and the ONNX Runtime backend: same answers as PyTorch, checked files, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from infer_images import find_font, render_text
from PIL import Image

import charrec
from charrec.data import load_dataset
from charrec.errors import ConfigError
from charrec.infer import onnx as charrec_onnx
from charrec.infer.onnx import Deployed, ExportError, OnnxBackend, export_onnx, read_metadata
from charrec.infer.onnx_runtime import SMALL_BATCH
from charrec.infer.pretrained import list_pretrained, pretrained_dir
from charrec.train import TrainConfig, apply_overrides, train
from charrec.train.checkpoint import load_run
from clirun import run_cli

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

BATCHES = (1, 7, 64)
TOLERANCE = 1e-4
# Small zoo models that cover the layers the exporter must handle: dense layers; conv,
# pooling and dropout; batch norm, strided convs, residual sums and global pooling.
ZOO = {
    "mlp": {"model.options.hidden": [32, 16]},
    "keras-convnet": {},
    "resnet": {"model.options.width": 0.25, "model.options.depth": 1},
}


@pytest.fixture(scope="module")
def tiny_runs(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run folder per ZOO model, trained one epoch on 300 MNIST images."""
    root = tmp_path_factory.mktemp("onnx-runs")
    runs = {}
    for name, options in ZOO.items():
        values = {
            "data.name": "mnist",
            "data.data_dir": str(real_data_dir),
            "data.limit": 300,
            "data.evaluate_test": False,
            "model.name": name,
            "training.epochs": 1,
            "training.batch_size": 50,
            "training.num_threads": 1,
            "run.out": str(root / name),
            **options,
        }
        train(apply_overrides(TrainConfig(), values), verbose=False)
        runs[name] = root / name
    return runs


@pytest.fixture(scope="module")
def digits(real_data_dir: Path) -> np.ndarray:
    """64 real MNIST test images, the model's input form."""
    return load_dataset("mnist", "test", data_dir=real_data_dir).images[:64]


def assert_matches_torch(folder: Path, images: np.ndarray) -> onnx.ModelProto:
    model, meta = load_run(folder)
    proto = export_onnx(model, meta)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    prep = meta["preprocessing"]
    deployed = Deployed(model, prep["mean"], prep["std"]).eval()
    for batch in BATCHES:
        x = np.ascontiguousarray(np.resize(images, (batch, 28, 28)))
        got = session.run(["probabilities"], {"images": x})[0]
        with torch.inference_mode():
            want = deployed(torch.from_numpy(x)).numpy()
        assert got.shape == (batch, len(meta["classes"]))
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE)
        # Not just two equal constants: the model tells the images apart.
        assert batch == 1 or np.ptp(got.argmax(1)) > 0 or np.ptp(got, axis=0).max() > 1e-3
    return proto


@pytest.mark.parametrize("name", list(ZOO))
def test_export_of_zoo_models_matches_pytorch(
    name: str, tiny_runs: dict[str, Path], digits: np.ndarray
) -> None:
    proto = assert_matches_torch(tiny_runs[name], digits)
    (graph_input,) = proto.graph.input
    batch_dim = graph_input.type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.HasField("dim_value")
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    onnx.checker.check_model(proto, full_check=True)


@pytest.mark.parametrize("name", list_pretrained())
def test_export_of_shipped_models_matches_pytorch(name: str, digits: np.ndarray) -> None:
    assert_matches_torch(pretrained_dir(name), digits)


def test_cli_export_writes_a_checked_file_with_metadata(
    tiny_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "models" / "convnet.onnx"
    code, stdout, _ = run_cli(
        ["export", str(tiny_runs["keras-convnet"]), "--out", str(out), "--opset", "20"], capsys
    )
    assert code == 0, stdout
    assert "wrote" in stdout and "onnx.checker passed" in stdout
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 20
    meta = read_metadata(out)
    _, run_meta = load_run(tiny_runs["keras-convnet"])
    assert meta["classes"] == [str(c) for c in run_meta["classes"]]
    assert meta["preprocessing"] == run_meta["preprocessing"]
    assert meta["input"]["dtype"] == "uint8" and meta["charrec_version"] == charrec.__version__
    assert not list(out.parent.glob(".*.tmp"))


def test_cli_export_defaults_to_the_run_folder(
    tiny_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = tiny_runs["mlp"]
    code, stdout, _ = run_cli(["export", str(run)], capsys)
    assert code == 0, stdout
    assert (run / "model.onnx").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "tflite"], "unknown export format 'tflite'"),
        (["--opset", "9"], "ONNX opset must be a whole number"),
    ],
)
def test_cli_export_user_errors_are_one_line(
    args: list[str],
    message: str,
    tiny_runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "x.onnx"
    code, _, err = run_cli(["export", str(tiny_runs["mlp"]), "--out", str(out), *args], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_cli_export_of_a_missing_model_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["export", str(tmp_path / "no-such-run")], capsys)
    assert code == 2 and "not found" in err


def test_failed_export_leaves_the_old_file_alone(
    tiny_runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous")

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::frobnicate")

    monkeypatch.setattr(torch.onnx, "export", broken)
    code, _, err = run_cli(["export", str(tiny_runs["mlp"]), "--out", str(out)], capsys)
    assert code == 2
    assert "cannot be exported to ONNX: unsupported operator aten::frobnicate" in err
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_onnx_backend_agrees_with_torch_and_reuses_its_cache(
    tiny_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    font = find_font()
    if font is None:
        pytest.skip("no TrueType font found")
    pictures = []
    for digit in "0123456789":
        path = tmp_path / f"{digit}.png"
        Image.fromarray(render_text(digit, font)).save(path)
        pictures.append(path)
    run = tiny_runs["keras-convnet"]
    by_torch = charrec.load(str(run)).predict(pictures, top_k=3)
    by_onnx = charrec.load(str(run), backend="onnx").predict(pictures, top_k=3)
    for t, o in zip(by_torch, by_onnx, strict=True):
        assert t.label == o.label
        assert [label for label, _ in t.top] == [label for label, _ in o.top]
        np.testing.assert_allclose(
            [p for _, p in t.top], [p for _, p in o.top], rtol=0, atol=TOLERANCE
        )
    cached = list(charrec_onnx.cache_dir().glob("*.onnx"))
    assert len(cached) == 1
    # A second load finds the export in the cache instead of exporting again.
    monkeypatch.setattr(charrec_onnx, "export_onnx", lambda *a, **k: pytest.fail("re-exported"))
    again = charrec.load(str(run), backend="onnx").predict(pictures[0])
    assert again.label == by_onnx[0].label


def test_few_images_run_on_one_thread_with_the_same_answers(tiny_runs: dict[str, Path]) -> None:
    model, meta = load_run(tiny_runs["keras-convnet"])
    backend = OnnxBackend(model, meta, threads=2)
    images = np.random.default_rng(0).integers(0, 256, (SMALL_BATCH, 28, 28), dtype=np.uint8)
    together = backend.probabilities(images)
    assert backend._single is None  # a full batch uses the session on every thread
    alone = np.concatenate([backend.probabilities(images[i : i + 1]) for i in range(len(images))])
    assert backend._single is not None
    np.testing.assert_allclose(alone, together, atol=1e-6)
    assert backend._session_for(SMALL_BATCH - 1) is backend._single
    assert backend._session_for(SMALL_BATCH) is backend.session


def test_onnx_backend_runs_on_the_cpu_only(tiny_runs: dict[str, Path]) -> None:
    model, meta = load_run(tiny_runs["mlp"])
    with pytest.raises(ConfigError, match="the onnx backend runs on the CPU"):
        OnnxBackend(model, meta, device="cuda")


def test_export_error_names_the_model(
    tiny_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, meta = load_run(tiny_runs["mlp"])
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: (_ for _ in ()).throw(ValueError()))
    with pytest.raises(ExportError, match="model mlp cannot be exported"):
        export_onnx(model, meta)
