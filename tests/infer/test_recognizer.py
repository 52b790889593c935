"""The Recognizer: every kind of source, batching, top-k, errors, explain, loading models."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from infer_images import render_text
from PIL import Image
from tiny_runs import mnist_mlp_run

import charrec
from charrec.data import load_dataset
from charrec.errors import CharrecError, ConfigError
from charrec.infer import pretrained
from charrec.infer.imageio import BlankImageError, ImageError
from charrec.infer.preprocess import PreprocessConfig, Preprocessor
from charrec.infer.recognizer import Prediction, Recognizer, load
from charrec.train.checkpoint import load_run


@pytest.fixture(scope="module")
def run_dir(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mnist_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def recognizer(run_dir: Path) -> Recognizer:
    return load(run_dir)


@pytest.fixture(scope="module")
def digits(font: Path) -> dict[str, np.ndarray]:
    """Dark digits on white 128×128 canvases, some off-centre."""
    return {
        d: render_text(d, font, centre=(0.4 + 0.05 * i, 0.5), height=0.6)
        for i, d in enumerate("0123456789")
    }


def test_every_kind_of_source_gives_the_same_answer(
    recognizer: Recognizer, digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    gray = digits["3"]
    path = tmp_path / "three.png"
    Image.fromarray(gray).save(path)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    sources = {
        "str path": str(path),
        "Path": path,
        "bytes": path.read_bytes(),
        "file object": io.BytesIO(path.read_bytes()),
        "uint8 array": gray,
        "float array": gray.astype(np.float32) / 255,
        "H×W×1 array": gray[:, :, None],
        "RGB array": rgb,
        "PIL image": Image.fromarray(rgb),
    }
    reference = recognizer.predict(gray, top_k=10)
    for kind, source in sources.items():
        prediction = recognizer.predict(source, top_k=10)
        assert isinstance(prediction, Prediction), kind
        assert prediction.label == reference.label, kind
        assert np.array_equal(prediction.seen, reference.seen), kind
        probs = [p for _, p in prediction.top]
        assert np.allclose(probs, [p for _, p in reference.top], atol=1e-6), kind
    with open(path, "rb") as handle:
        assert recognizer.predict(handle).source == str(path)
    assert recognizer.predict(path).source == str(path)
    assert recognizer.predict(gray).source == "<array>"


def test_a_list_is_one_batch_equal_to_one_by_one(
    recognizer: Recognizer, digits: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    images = list(digits.values())
    alone = [recognizer.predict(image, top_k=5) for image in images]
    calls = []
    forward = recognizer.backend.probabilities
    monkeypatch.setattr(
        recognizer.backend, "probabilities", lambda x: calls.append(len(x)) or forward(x)
    )
    together = recognizer.predict(images, top_k=5)
    assert calls == [len(images)]  # one forward pass for the whole list
    assert isinstance(together, list) and len(together) == len(images)
    for one, many in zip(alone, together, strict=True):
        assert one.label == many.label
        assert [label for label, _ in one.top] == [label for label, _ in many.top]
        assert np.allclose([p for _, p in one.top], [p for _, p in many.top], atol=1e-5)
    assert recognizer.predict(tuple(images[:2]))[1].label == together[1].label
    assert recognizer.predict([]) == []


def test_top_k_is_ordered_and_probabilities_sum_to_one(
    recognizer: Recognizer, digits: dict[str, np.ndarray]
) -> None:
    prediction = recognizer.predict(digits["7"], top_k=3)
    probs = [p for _, p in prediction.top]
    assert len(prediction.top) == 3
    assert probs == sorted(probs, reverse=True)
    assert (prediction.label, prediction.probability) == prediction.top[0]
    everything = recognizer.predict(digits["7"], top_k=10)
    assert sorted(label for label, _ in everything.top) == recognizer.classes
    assert sum(p for _, p in everything.top) == pytest.approx(1.0, abs=1e-5)
    assert everything.top[:3] == prediction.top
    for bad in (0, 11, -1, 2.5, True, "3"):
        with pytest.raises(ConfigError, match="top_k"):
            recognizer.predict(digits["7"], top_k=bad)


def test_prediction_holds_what_the_model_saw(
    recognizer: Recognizer, digits: dict[str, np.ndarray]
) -> None:
    prediction = recognizer.predict(digits["5"])
    expected = Preprocessor(PreprocessConfig(style="mnist"))(digits["5"])
    assert prediction.seen.shape == (28, 28) and prediction.seen.dtype == np.uint8
    assert np.array_equal(prediction.seen, expected.image)
    assert prediction.preprocessing == expected.to_dict()
    data = prediction.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"source", "label", "probability", "top", "preprocessing"}
    assert data["top"][0] == {"label": prediction.label, "probability": prediction.probability}
    assert "seen" not in repr(prediction)


def test_the_model_gets_real_digits_right_and_answers_differ(
    recognizer: Recognizer, real_data_dir: Path
) -> None:
    # The "same answer for every input" failure would give one label for all of them.
    test = load_dataset("mnist", split="test", data_dir=real_data_dir)
    images, labels = test.images[:500], test.labels[:500]
    probs = recognizer.predict_arrays(images)
    assert probs.shape == (500, 10) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs.argmax(axis=1) == labels).mean() > 0.7
    assert len(set(probs.argmax(axis=1).tolist())) == 10
    # The whole path, preprocessing included, on real handwriting given as 28×28 arrays.
    predictions = recognizer.predict(list(images[:100]))
    answers = np.array([int(p.label) for p in predictions])
    assert (answers == labels[:100]).mean() > 0.7
    assert len(set(answers.tolist())) == 10


def test_predict_arrays_matches_the_trained_model(recognizer: Recognizer, run_dir: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    model, meta = load_run(run_dir)
    mean, std = meta["preprocessing"]["mean"], meta["preprocessing"]["std"]
    with torch.no_grad():
        x = (torch.from_numpy(images).float().unsqueeze(1) / 255 - mean) / std
        expected = torch.softmax(model(x), dim=1).numpy()
    assert np.allclose(recognizer.predict_arrays(images), expected, atol=1e-6)
    assert recognizer.predict_arrays(images[:0]).shape == (0, 10)
    with pytest.raises(ConfigError, match="uint8"):
        recognizer.predict_arrays(images.astype(np.float32))
    with pytest.raises(ConfigError, match="N×28×28"):
        recognizer.predict_arrays(images[0])


def test_tta_averages_the_probabilities_of_each_images_views(
    recognizer: Recognizer, run_dir: Path, real_data_dir: Path
) -> None:
    from charrec.evaluate.tta import views

    images = load_dataset("mnist", split="test", data_dir=real_data_dir).images[:5]
    for policy, count in (("shift", 5), ("affine", 9)):
        with_tta = load(run_dir, tta=policy)
        copies = views(images, policy)
        assert len(copies) == count
        expected = np.mean([recognizer.predict_arrays(view) for view in copies], axis=0)
        assert np.allclose(with_tta.predict_arrays(images), expected, atol=1e-6)
        assert f"tta='{policy}'" in repr(with_tta)
    with pytest.raises(ConfigError, match=r"unknown test-time augmentation 'flip'.*affine"):
        load(run_dir, tta="flip")


def test_blank_or_unreadable_images_raise_instead_of_guessing(
    recognizer: Recognizer, tmp_path: Path
) -> None:
    with pytest.raises(BlankImageError, match="no character"):
        recognizer.predict(np.full((64, 64), 255, dtype=np.uint8))
    with pytest.raises(BlankImageError):
        recognizer.predict(np.zeros((64, 64), dtype=np.float32))
    junk = tmp_path / "notes.png"
    junk.write_text("not a picture")
    with pytest.raises(ImageError, match=r"notes\.png"):
        recognizer.predict(junk)
    with pytest.raises(ImageError, match="file not found"):
        recognizer.predict(tmp_path / "missing.png")
    with pytest.raises(ImageError):
        recognizer.predict([np.zeros((5, 5, 7), dtype=np.uint8)])


def test_predict_many_collects_errors_and_predicts_the_rest(
    recognizer: Recognizer, digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    blank = np.full((64, 64), 255, dtype=np.uint8)
    sources = [digits["1"], b"garbage", blank, digits["8"], tmp_path / "missing.png"]
    results = recognizer.predict_many(sources, top_k=2, errors="collect")
    assert [type(r).__name__ for r in results] == [
        "Prediction",
        "ImageError",
        "BlankImageError",
        "Prediction",
        "ImageError",
    ]
    alone = recognizer.predict(digits["1"], top_k=2)
    assert [label for label, _ in results[0].top] == [label for label, _ in alone.top]
    assert np.allclose([p for _, p in results[0].top], [p for _, p in alone.top], atol=1e-5)
    assert results[3].label == recognizer.predict(digits["8"]).label
    assert "missing.png" in str(results[4])
    with pytest.raises(ImageError):
        recognizer.predict_many(sources, errors="raise")
    with pytest.raises(ConfigError, match="errors policy"):
        recognizer.predict_many(sources, errors="ignore")  # type: ignore[arg-type]
    assert recognizer.predict_many([b"", blank], errors="collect")[1].__class__ is BlankImageError


def test_explain_saves_the_seen_image_next_to_the_input(
    recognizer: Recognizer, digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "my digit.png"
    Image.fromarray(digits["4"]).save(path)
    prediction = recognizer.predict(path, explain=True)
    saved = tmp_path / "my digit.seen.png"
    assert prediction.explained == str(saved)
    assert prediction.to_dict()["explained"] == str(saved)
    seen = np.asarray(Image.open(saved))
    assert np.array_equal(seen[::10, ::10], prediction.seen)
    assert recognizer.predict(path).explained is None
    with pytest.raises(ImageError, match="must be a path"):
        recognizer.predict(digits["4"], explain=True)


def test_run_folders_load_by_str_and_path(run_dir: Path) -> None:
    by_str = charrec.load(str(run_dir))
    by_path = Recognizer.from_run(run_dir)
    assert by_str.classes == by_path.classes == [str(d) for d in range(10)]
    assert by_str.name == str(run_dir)
    card = by_str.card
    assert card["data"] == "mnist" and card["model"] == "mlp"
    assert card["classes"] == by_str.classes and card["parameters"] > 0
    # Trained on MNIST: framed as MNIST was (20 px, centred by mass).
    assert by_str.preprocessor.config.style == "mnist"
    emnist = load(run_dir, preprocess=PreprocessConfig(style="emnist"))
    assert emnist.preprocessor.config.style == "emnist"


@pytest.fixture
def shipped(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A weights folder: one published model, `mini`, an incomplete one, one being published."""
    weights = tmp_path / "weights"
    (weights / "mini").mkdir(parents=True)
    for name in ("model.json", "model.safetensors"):
        shutil.copy(run_dir / name, weights / "mini" / name)
    card = {
        "name": "mini",
        "description": "an MLP on 2,000 MNIST digits",
        "classes": [str(d) for d in range(10)],
        "test_accuracy": 0.8,
        "preprocess": {"style": "emnist"},
    }
    (weights / "mini" / "card.json").write_text(json.dumps(card))
    (weights / "half").mkdir()
    (weights / "half" / "model.json").write_text("{}")
    # A model being published: complete files, but not swapped into place yet.
    shutil.copytree(weights / "mini", weights / ".mini.1234.tmp")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    return card


def test_a_pretrained_name_loads_with_its_card(shipped: dict, run_dir: Path) -> None:
    assert pretrained.list_pretrained() == ["mini"]
    assert pretrained.read_card("mini") == shipped
    assert pretrained.pretrained_dir("mini").name == "mini"
    recognizer = charrec.load("mini")
    assert recognizer.name == "mini" and recognizer.card == shipped
    # The card's own framing wins over the one guessed from the training data.
    assert recognizer.preprocessor.config.style == "emnist"
    from_run = load(run_dir)
    images = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    assert np.array_equal(recognizer.predict_arrays(images), from_run.predict_arrays(images))
    assert Recognizer.from_pretrained("mini").classes == recognizer.classes


def test_unknown_models_and_options_are_named_with_the_valid_ones(
    shipped: dict, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'nosuch'.*mini"):
        charrec.load("nosuch")
    with pytest.raises(ConfigError, match=r"unknown pretrained model 'half'.*mini"):
        pretrained.read_card("half")
    with pytest.raises(ConfigError, match=r"unknown pretrained model 'x'; choose one of: mini"):
        Recognizer.from_pretrained("x")
    with pytest.raises(ConfigError, match=r"run folder .*nowhere not found"):
        charrec.load(str(tmp_path / "nowhere"))
    with pytest.raises(CharrecError, match="not a run folder with a checkpoint"):
        charrec.load(tmp_path)
    with pytest.raises(ConfigError, match=r"unknown backend 'tensorflow'; choose one of: .*torch"):
        charrec.load("mini", backend="tensorflow")
    with pytest.raises(ConfigError, match="pretrained name or a run folder"):
        charrec.load(42)  # type: ignore[arg-type]


def test_no_pretrained_models_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "none")
    assert pretrained.list_pretrained() == []
    with pytest.raises(ConfigError, match="ships none"):
        pretrained.pretrained_dir("letters")


@pytest.mark.parametrize("name", pretrained.list_pretrained() or ["(none shipped)"])
def test_each_shipped_model_loads_and_answers(name: str, font: Path) -> None:
    if name == "(none shipped)":
        pytest.skip("no pretrained model is shipped in charrec/infer/weights yet")
    recognizer = charrec.load(name)
    card = pretrained.read_card(name)
    assert recognizer.card == card and recognizer.classes == card["classes"]
    char = recognizer.classes[len(recognizer.classes) // 2]
    prediction = recognizer.predict(render_text(char, font), top_k=3)
    assert prediction.label in recognizer.classes and 0 < prediction.probability <= 1


def test_import_charrec_stays_light() -> None:
    code = "import sys, charrec; print('torch' in sys.modules, callable(charrec.load))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_small_batches_run_on_one_thread_and_the_setting_is_restored(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_threads = []
    model = recognizer.backend.model
    forward = model.forward
    monkeypatch.setattr(
        model, "forward", lambda x: seen_threads.append(torch.get_num_threads()) or forward(x)
    )
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        images = np.zeros((40, 28, 28), dtype=np.uint8)
        recognizer.predict_arrays(images[:1])
        recognizer.predict_arrays(images)
        assert seen_threads == [1, 2]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
