"""`charrec evaluate` end to end on a run the training engine wrote, and on other label spaces."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from evalruns import save_run
from PIL import Image

from charrec.data import ImageSet
from charrec.data.classes import EMNIST_CLASSES
from charrec.evaluate import evaluate_run
from charrec.evaluate.evaluation import merge_run_metrics
from charrec.train.checkpoint import load_run
from clirun import cli
from datagen import glyphs

FIGURES = (
    "history",
    "confusion_counts",
    "confusion_normalised",
    "reliability",
    "per_class_f1",
    "samples",
    "samples_top",
    "mistakes",
)


@pytest.fixture(scope="module")
def trained_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch of a small MLP on 300 MNIST images, by the training engine."""
    from charrec.train import TrainConfig, apply_overrides, train

    out = tmp_path_factory.mktemp("runs") / "mlp"
    config = apply_overrides(
        TrainConfig(),
        {
            "data.name": "mnist",
            "data.data_dir": str(real_data_dir),
            "data.limit": 300,
            "model.name": "mlp",
            "model.options.hidden": [32],
            "training.epochs": 1,
            "training.device": "cpu",
            "run.out": str(out),
        },
    )
    train(config, verbose=False)
    return out


@pytest.fixture(scope="module")
def evaluated(trained_run: Path) -> tuple[Path, str]:
    """`charrec evaluate RUN` once (data and data directory from the run); its output."""
    code, out, err = cli(["evaluate", str(trained_run)])
    assert code == 0, err
    return trained_run, out


@pytest.mark.realdata
def test_cli_prints_the_summary(evaluated: tuple[Path, str]) -> None:
    run, out = evaluated
    assert "on mnist:test: 10,000 images" in out
    assert re.search(r"accuracy\s+│\s+\d+\.\d\d%", out)
    assert "most confused:" in out and "images/s" in out
    assert str(run / "evaluation" / "mnist-test" / "report.html") in out


@pytest.mark.realdata
def test_figures_and_reports_are_written(evaluated: tuple[Path, str]) -> None:
    folder = evaluated[0] / "evaluation" / "mnist-test"
    for name in FIGURES:
        path = folder / f"{name}.png"
        assert path.stat().st_size > 5_000, name
        with Image.open(path) as image:
            assert image.width >= 300 and image.height >= 150, name
    page = (folder / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert base64.b64decode(sources[0].split(",", 1)[1]).startswith(b"\x89PNG")
    assert "https://" not in page and "http://" not in page
    markdown = (folder / "report.md").read_text()
    for name in FIGURES:
        assert f"({name}.png)" in markdown
    assert "Most confused pairs" in markdown and "macro F1" in markdown
    # No temporary folder left behind.
    assert [p.name for p in folder.parent.iterdir()] == ["mnist-test"]


@pytest.mark.realdata
def test_report_shows_how_long_and_how_fast_the_run_trained(
    evaluated: tuple[Path, str],
) -> None:
    run = evaluated[0]
    trained = json.loads((run / "metrics.json").read_text())
    details = json.loads((run / "evaluation" / "mnist-test" / "metrics.json").read_text())
    assert details["training"]["train_time"] == trained["train_time"]
    assert details["training"]["images_per_second"] == trained["images_per_second"]
    markdown = (run / "evaluation" / "mnist-test" / "report.md").read_text()
    assert f"{trained['images_per_second']:,.0f} training images/s" in markdown
    assert "| training time |" in markdown and "(1 epoch)" in markdown


def test_samples_are_drawn_at_random_from_the_whole_split() -> None:
    from charrec.evaluate.evaluation_report import SAMPLES, sample_indices

    drawn = sample_indices(10_000)
    assert len(drawn) == SAMPLES and len(set(drawn.tolist())) == SAMPLES
    assert drawn.tolist() != list(range(SAMPLES)) and drawn.max() > 10_000 // 2
    assert np.array_equal(drawn, sample_indices(10_000))  # seeded: the same every time
    assert not np.array_equal(drawn, sample_indices(10_000, seed=1))
    assert sample_indices(4).tolist() == [0, 1, 2, 3]


@pytest.mark.realdata
def test_metrics_json_merged_not_clobbered(evaluated: tuple[Path, str]) -> None:
    run = evaluated[0]
    metrics = json.loads((run / "metrics.json").read_text())
    # What training wrote is still there...
    assert metrics["epochs"] == 1 and metrics["parameters"] > 0
    evaluation = metrics["evaluation"]["mnist:test"]
    # ...and the evaluation agrees with the engine's own test accuracy.
    assert evaluation["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert evaluation["throughput"]["images"] == 10_000
    assert evaluation["throughput"]["images_per_second"] > 0
    assert {"top_3_accuracy", "top_5_accuracy", "macro", "ece", "per_class"} <= set(evaluation)
    assert "confusion_matrix" not in evaluation  # kept in the evaluation folder
    details = json.loads((run / "evaluation" / "mnist-test" / "metrics.json").read_text())
    assert np.asarray(details["confusion_matrix"]).sum() == 10_000


@pytest.mark.realdata
def test_a_second_evaluation_is_added_beside_the_first(evaluated: tuple[Path, str]) -> None:
    run = evaluated[0]
    images, labels = glyphs(40, 10)
    small = ImageSet(images, labels, EMNIST_CLASSES["mnist"], "bars:all")
    result = evaluate_run(run, dataset=small, write=False)
    assert result.key == "bars:all"
    merge_run_metrics(result)
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["evaluation"]) == {"mnist:test", "bars:all"}
    assert metrics["evaluation"]["bars:all"]["images"] == 40


def _probs_by_hand(run: Path, images: np.ndarray) -> np.ndarray:
    model, meta = load_run(run)
    pre = meta["preprocessing"]
    x = (torch.from_numpy(images).float().unsqueeze(1) / 255 - pre["mean"]) / pre["std"]
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).double().numpy()


def test_byclass_model_on_letters_sums_cases(tmp_path: Path) -> None:
    byclass = EMNIST_CLASSES["byclass"]
    run = save_run(tmp_path / "byclass", byclass, data_name="emnist-byclass")
    images, labels = glyphs(52, 26, seed=3)
    letters = ImageSet(images, labels, EMNIST_CLASSES["letters"], "letters:test")
    result = evaluate_run(run, dataset=letters, write=False)

    raw = _probs_by_hand(run, images)
    for letter in "AQZ":
        column = EMNIST_CLASSES["letters"].index(letter)
        expected = raw[:, byclass.index(letter)] + raw[:, byclass.index(letter.lower())]
        np.testing.assert_allclose(result.probs[:, column], expected, rtol=1e-5)
    np.testing.assert_allclose(result.probs[:, 26:], raw[:, :10], rtol=1e-5)
    m = result.metrics
    predictions = result.probs.argmax(axis=1)
    assert m["outside_predictions"] == int((predictions >= 26).sum())
    assert m["accuracy"] == pytest.approx(np.mean(predictions == labels))
    assert m["confusion_columns"][-1] == "other"
    assert len(m["label_space"]["merged"]) == 26 and m["label_space"]["outside"][0] == "0"


def test_a_case_merged_model_scores_case_kept_letters_with_case_ignored(tmp_path: Path) -> None:
    letters = EMNIST_CLASSES["letters"]
    run = save_run(tmp_path / "letters", letters)
    images, _ = glyphs(4, 26, seed=5)
    # Pictures of A, a, b and B, labelled with their case as people's folders are.
    kept = ImageSet(images, np.array([0, 2, 3, 1]), ("A", "B", "a", "b"), "mine:all")
    result = evaluate_run(run, dataset=kept, write=False)
    assert result.space.data_classes == ("A", "B")
    assert result.labels.tolist() == [0, 0, 1, 1]
    raw = _probs_by_hand(run, images)
    np.testing.assert_allclose(result.probs[:, :2], raw[:, :2], rtol=1e-5)
    assert result.metrics["images"] == 4


def test_smaller_images_go_to_the_model_frame(tmp_path: Path) -> None:
    run = save_run(tmp_path / "letters", EMNIST_CLASSES["letters"])
    images = np.zeros((26, 20, 16), dtype=np.uint8)
    images[:, 3:17, 6:10] = 255
    data = ImageSet(images, np.arange(26, dtype=np.int64), EMNIST_CLASSES["letters"], "bad:all")
    result = evaluate_run(run, dataset=data, write=False)
    assert result.images.shape == (26, 28, 28)
    assert "20×16" in result.metrics["label_space"]["resized"]


@pytest.mark.realdata
def test_byclass_model_on_letters_dev(tmp_path: Path, real_data_dir: Path) -> None:
    run = save_run(tmp_path / "byclass", EMNIST_CLASSES["byclass"], data_name="emnist-byclass")
    result = evaluate_run(run, "letters-dev", "test", real_data_dir, write=False)
    m = result.metrics
    assert m["images"] == 14_800 and m["classes_evaluated"] == 19  # letters-dev test: A..S
    assert "A=A+a" in m["label_space"]["description"]
    assert set(m["confusions"]) >= {"top_confused_pairs", "look_alike_errors"}


def test_folder_without_checkpoint_exits_2(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.json").write_text("[]")
    code, _, err = cli(["evaluate", str(tmp_path / "run")])
    assert code == 2
    assert "no model.json" in err and err.strip().count("\n") == 0


@pytest.mark.realdata
def test_incompatible_classes_exit_2(tmp_path: Path, real_data_dir: Path) -> None:
    run = save_run(tmp_path / "digits", EMNIST_CLASSES["mnist"])
    code, _, err = cli(
        ["evaluate", str(run), "--data", "letters-dev", "--data-dir", str(real_data_dir)]
    )
    assert code == 2
    assert "'0123456789'" in err and "share no class" in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err

    letters = save_run(tmp_path / "letters", EMNIST_CLASSES["letters"])
    code, _, err = cli(
        ["evaluate", str(letters), "--data", "emnist-byclass", "--data-dir", str(real_data_dir)]
    )
    # Its lower-case letters count for their capitals; its digits cannot be read.
    assert code == 2 and "cannot predict: '0123456789' (model" in err


def test_a_shipped_model_by_name_reports_outside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageDraw, ImageFont

    from charrec.infer.pretrained import pretrained_dir

    # A tiny real-handwriting folder in the data directory's layout: realworld/semeion.
    folder = tmp_path / "data" / "realworld" / "semeion"
    folder.mkdir(parents=True)
    rows = ["path,label"]
    for digit in "0147":
        image = Image.new("L", (64, 64), 255)
        font = ImageFont.load_default(size=48)
        ImageDraw.Draw(image).text((32, 32), digit, fill=0, font=font, anchor="mm")
        image.save(folder / f"{digit}.png")
        rows.append(f"{digit}.png,{digit}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    shipped = pretrained_dir("digits")
    before = sorted(p.name for p in shipped.iterdir())
    monkeypatch.chdir(tmp_path)

    code, out, err = cli(["evaluate", "digits", "--data", "semeion", "--data-dir", "data"])
    assert code == 0, err
    assert "on semeion:test: 4 images" in out
    report = Path("evaluation") / "digits" / "semeion-test"
    assert (report / "report.html").is_file() and (report / "metrics.json").is_file()
    assert json.loads((report / "metrics.json").read_text())["images"] == 4
    assert sorted(p.name for p in shipped.iterdir()) == before
