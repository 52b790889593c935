"""Test-time augmentation: the views' geometry, the averaging, and `evaluate --tta`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from evalruns import save_run

from charrec.data import ImageSet
from charrec.data.classes import EMNIST_CLASSES
from charrec.errors import ConfigError
from charrec.evaluate import evaluate_run
from charrec.evaluate.tta import rotate, scale, shift, tta_probs, views
from charrec.train.checkpoint import load_run
from clirun import cli
from datagen import glyphs


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _square(side: int = 28, lo: int = 10, hi: int = 18) -> np.ndarray:
    image = np.zeros((1, side, side), dtype=np.uint8)
    image[0, lo:hi, lo:hi] = 255
    return image


def test_shift_moves_the_ink_one_pixel_and_drops_what_leaves() -> None:
    image = np.zeros((1, 5, 5), dtype=np.uint8)
    image[0, 0, 2] = 200  # top edge
    image[0, 2, 2] = 100
    up = shift(image, -1, 0)
    assert up[0, 1, 2] == 100 and up.sum() == 100  # the top-edge pixel is gone
    right = shift(image, 0, 1)
    assert right[0, 0, 3] == 200 and right[0, 2, 3] == 100 and right.sum() == 300


def test_rotation_and_scale_keep_the_centre_and_change_the_extent() -> None:
    square = _square()
    assert np.array_equal(rotate(square, 0.0), square)
    assert np.array_equal(scale(square, 1.0), square)
    # A centred 8-pixel square (rows and columns 10..17) grows and shrinks about the centre.
    top, bottom, left, right = _ink_box(scale(square, 1.5)[0] > 127)
    assert (top, bottom, left, right) == (8, 19, 8, 19)
    top, bottom, left, right = _ink_box(scale(square, 0.5)[0] > 127)
    assert (top, bottom, left, right) == (12, 15, 12, 15)
    # Turned, its corners reach beyond the upright square's box, symmetrically.
    turned = rotate(square, 30.0)[0] > 127
    top, bottom, left, right = _ink_box(turned)
    assert top < 10 and bottom > 17 and left < 10 and right > 17
    assert top + bottom == left + right == 27
    assert rotate(square, 30.0).dtype == np.uint8


def test_views_are_the_image_then_its_copies() -> None:
    images, _ = glyphs(4, 2, seed=1)
    shifted = views(images, "shift")
    affine = views(images, "affine")
    assert len(shifted) == 5 and len(affine) == 9
    assert shifted[0] is not None and np.array_equal(shifted[0], images)
    for a, b in zip(shifted, affine[:5], strict=True):
        assert np.array_equal(a, b)
    assert all(v.shape == images.shape and v.dtype == np.uint8 for v in affine)
    assert len({v.tobytes() for v in affine}) == 9  # nine different views


def test_unknown_policy_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"test-time augmentation 'flip'.*affine, shift"):
        views(np.zeros((1, 28, 28), dtype=np.uint8), "flip")


def test_probabilities_are_the_mean_over_the_views() -> None:
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    calls: list[np.ndarray] = []

    def predict(view: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        # View i answers [i, 1] for every image: the mean over 5 views is [2, 1].
        probs = np.tile([len(calls), 1.0], (len(view), 1))
        calls.append(view)
        return probs, {"seconds": 0.5, "images": len(view), "images_per_second": 6.0}

    probs, throughput = tta_probs(predict, images, "shift")
    np.testing.assert_allclose(probs, np.tile([2.0, 1.0], (3, 1)))
    assert len(calls) == 5 and throughput["views"] == 5
    assert throughput["seconds"] == pytest.approx(2.5)
    assert throughput["images_per_second"] == pytest.approx(3 / 2.5)


def test_evaluation_with_tta_averages_the_model_over_the_views(tmp_path: Path) -> None:
    digits = EMNIST_CLASSES["mnist"]
    run = save_run(tmp_path / "mlp", digits)
    images, labels = glyphs(30, 10, seed=2)
    data = ImageSet(images, labels, digits, "bars:all")
    result = evaluate_run(run, dataset=data, write=False, tta="affine")

    model, meta = load_run(run)
    pre = meta["preprocessing"]
    expected = []
    for view in views(images, "affine"):
        x = (torch.from_numpy(view).float().unsqueeze(1) / 255 - pre["mean"]) / pre["std"]
        with torch.no_grad():
            expected.append(torch.softmax(model(x), dim=1).double().numpy())
    np.testing.assert_allclose(result.probs, np.mean(expected, axis=0), rtol=1e-5, atol=1e-7)
    assert result.metrics["tta"] == {"policy": "affine", "views": 9}
    assert result.key == "bars:all:tta-affine"
    plain = evaluate_run(run, dataset=data, write=False)
    assert plain.metrics["tta"] is None and plain.key == "bars:all"
    assert not np.allclose(plain.probs, result.probs)


def _image_folder(root: Path) -> Path:
    from PIL import Image

    images, labels = glyphs(20, 10, seed=4)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")
    return root


def test_cli_writes_the_tta_score_beside_the_plain_one(tmp_path: Path) -> None:
    run = save_run(tmp_path / "mlp", EMNIST_CLASSES["mnist"])
    folder = _image_folder(tmp_path / "digits")
    code, out, err = cli(["evaluate", str(run), "--data", str(folder)])
    assert code == 0, err
    code, out, err = cli(["evaluate", str(run), "--data", str(folder), "--tta", "shift"])
    assert code == 0, err
    assert "test-time augmentation" in out and "shift, 5 views" in out
    evaluations = json.loads((run / "metrics.json").read_text())["evaluation"]
    keys = sorted(evaluations)
    assert len(keys) == 2 and keys[1] == f"{keys[0]}:tta-shift"
    assert evaluations[keys[1]]["tta"] == {"policy": "shift", "views": 5}
    reports = sorted(p.name for p in (run / "evaluation").iterdir())
    assert len(reports) == 2 and reports[1] == f"{reports[0]}-tta-shift"
    page = (run / "evaluation" / reports[1] / "report.md").read_text()
    assert "Test-time augmentation `shift`" in page


def test_cli_unknown_tta_policy_exits_2_before_writing(tmp_path: Path) -> None:
    run = save_run(tmp_path / "mlp", EMNIST_CLASSES["mnist"])
    folder = _image_folder(tmp_path / "digits")
    code, out, err = cli(["evaluate", str(run), "--data", str(folder), "--tta", "flip"])
    assert code == 2
    assert "unknown test-time augmentation 'flip'" in out + err
    assert "Traceback" not in out + err
    assert not (run / "evaluation").exists()


def test_the_transfer_report_describes_every_policy() -> None:
    from charrec.evaluate.tta import DESCRIPTIONS, POLICIES

    assert set(DESCRIPTIONS) == set(POLICIES)
