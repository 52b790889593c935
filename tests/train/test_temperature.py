"""training.calibrate: one temperature, fitted on the validation split, folded into the logits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from charrec.errors import ConfigError
from charrec.models.layers import Classifier
from charrec.train import train
from charrec.train.checkpoint import load_run
from charrec.train.config import TrainConfig
from charrec.train.prior import logits_layer
from charrec.train.temperature import fit_temperature, fold_temperature, prior_weights
from clirun import run_cli


def _sampled(n: int = 20_000, classes: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels drawn from softmax(logits): logits that are calibrated as they are."""
    generator = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(n, classes, generator=generator, dtype=torch.float64)
    labels = torch.multinomial(logits.softmax(1), 1, generator=generator).squeeze(1)
    return logits, labels


@pytest.mark.parametrize("scale", [3.0, 0.5])
def test_the_fitted_temperature_undoes_over_and_under_confidence(scale: float) -> None:
    logits, labels = _sampled()
    fitted = fit_temperature(scale * logits, labels)
    assert fitted.temperature == pytest.approx(scale, rel=0.05)
    assert fitted.images == len(labels)
    assert fitted.nll_after < fitted.nll_before
    assert fitted.ece_after < 0.02 < fitted.ece_before


def test_calibrated_logits_keep_a_temperature_near_one() -> None:
    logits, labels = _sampled(seed=1)
    assert fit_temperature(logits, labels).temperature == pytest.approx(1.0, abs=0.05)


def test_folding_divides_the_logits_and_keeps_the_answers() -> None:
    torch.manual_seed(0)
    head = nn.Linear(4, 3)
    model = Classifier(nn.Sequential(nn.Flatten(), nn.Linear(4, 4), nn.ReLU()), head)
    x = torch.randn(16, 4)
    before = model(x)
    fold_temperature(model, 2.5)
    after = model(x)
    assert torch.allclose(after, before / 2.5, atol=1e-6)
    assert torch.equal(after.argmax(1), before.argmax(1))
    with pytest.raises(ValueError, match="positive"):
        fold_temperature(model, 0.0)


def test_bad_inputs_to_the_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="N×C logits"):
        fit_temperature(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="N×C logits"):
        fit_temperature(torch.zeros(4, 3), torch.zeros(3, dtype=torch.long))


def test_prior_weights_count_classes_as_the_corrected_model_expects_them() -> None:
    labels = torch.tensor([0, 0, 0, 1])
    weights = prior_weights(labels, [0.75, 0.25], tau=1.0)
    assert weights.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])  # 1/share, mean 1
    # Weighted so, the two classes carry the same total weight: balanced, as after τ = 1.
    assert weights[:3].sum().item() == pytest.approx(weights[3].item())
    assert prior_weights(labels, [0.75, 0.25], tau=0.0) is None
    assert prior_weights(labels, None, tau=1.0) is None


def test_a_run_divides_its_final_logits_so_its_answers_stay(run_tiny) -> None:
    plain = run_tiny({"training.prior_correction": 1.0})
    calibrated = run_tiny({"training.prior_correction": 1.0, "training.calibrate": True})
    meta = json.loads((calibrated.run_dir / "model.json").read_text())
    fitted = meta["calibration"]
    assert fitted["images"] == 30  # the 10% validation split of 300 images
    assert fitted["nll_after"] <= fitted["nll_before"]
    temperature = fitted["temperature"]
    assert temperature > 0 and temperature != pytest.approx(1.0, abs=1e-3)
    # Same seed, same training: the calibrated logits layer, prior correction included, is
    # the plain one over T, so every answer is the same.
    a, _ = load_run(plain.run_dir)
    b, _ = load_run(calibrated.run_dir)
    layer_a, layer_b = logits_layer(a), logits_layer(b)
    assert torch.allclose(layer_b.weight, layer_a.weight / temperature, atol=1e-6)
    assert torch.allclose(layer_b.bias, layer_a.bias / temperature, atol=1e-6)
    assert "calibration" not in json.loads((plain.run_dir / "model.json").read_text())


def test_calibrating_a_trained_run_equals_calibrating_while_training(tiny_config, capsys) -> None:
    def cnn_run(calibrate: bool) -> Path:
        config = tiny_config(
            {
                "training.prior_correction": 1.0,
                "training.calibrate": calibrate,
                "data.evaluate_test": True,
            }
        )
        model = replace(config.model, name="keras-convnet", options={})
        return train(replace(config, model=model), verbose=False).run_dir

    during, after = cnn_run(True), cnn_run(False)
    code, out, _ = run_cli(["calibrate", str(after)], capsys)
    assert code == 0 and "temperature" in out
    fitted_during = json.loads((during / "model.json").read_text())["calibration"]
    fitted_after = json.loads((after / "model.json").read_text())["calibration"]
    assert fitted_after["temperature"] == pytest.approx(fitted_during["temperature"], rel=1e-4)
    a, _ = load_run(during)
    b, _ = load_run(after)
    assert len(list(a.state_dict())) > 4  # a CNN: convs as well as the dense head
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.allclose(x.float(), y.float(), atol=1e-5)
    # The losses recorded are the calibrated model's, as training records them.
    for name in ("model.json", "metrics.json"):
        during_json = json.loads((during / name).read_text())
        after_json = json.loads((after / name).read_text())
        if name == "model.json":
            during_json, after_json = during_json["metrics"], after_json["metrics"]
            keys = ["val_loss", "test_loss"]
        else:
            during_json = {f"{s}_loss": during_json[s]["loss"] for s in ("val", "test")}
            after_json = {f"{s}_loss": after_json[s]["loss"] for s in ("val", "test")}
            keys = list(during_json)
        for key in keys:
            assert after_json[key] == pytest.approx(during_json[key], rel=1e-4), (name, key)
    # Its config now reruns the calibrated model; a second calibration is refused.
    assert TrainConfig.from_yaml(after / "config.yaml").training.calibrate
    code, _, err = run_cli(["calibrate", str(after)], capsys)
    assert code == 2 and "calibrated already" in err


def test_runs_that_cannot_be_calibrated_are_refused(run_tiny, tmp_path, capsys) -> None:
    no_validation = run_tiny({"data.val_fraction": 0.0}).run_dir
    code, _, err = run_cli(["calibrate", str(no_validation)], capsys)
    assert code == 2 and "without a validation split" in err
    ensemble = run_tiny().run_dir
    meta = json.loads((ensemble / "model.json").read_text())
    meta["model"]["members"] = ["a", "b"]
    (ensemble / "model.json").write_text(json.dumps(meta))
    before = (ensemble / "model.safetensors").read_bytes()
    code, _, err = run_cli(["calibrate", str(ensemble)], capsys)
    assert code == 2 and "an ensemble" in err
    assert (ensemble / "model.safetensors").read_bytes() == before
    code, _, err = run_cli(["calibrate", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "not a run folder" in err and "Traceback" not in err


def test_calibration_without_a_validation_split_is_refused(tiny_config) -> None:
    config = tiny_config({"training.calibrate": True, "data.val_fraction": 0.0})
    with pytest.raises(ConfigError, match=r"training\.calibrate"):
        config.validate()


def test_an_evaluation_of_a_calibrated_run_names_its_temperature(run_tiny, tmp_path) -> None:
    from charrec.evaluate import evaluate_run

    run = run_tiny({"training.calibrate": True}).run_dir
    temperature = json.loads((run / "model.json").read_text())["calibration"]["temperature"]
    result = evaluate_run(run, data="mnist", report_root=tmp_path / "reports")
    assert result.metrics["model"]["temperature"] == temperature
    assert f"temperature of {temperature:.3f}" in result.files["markdown"].read_text()
