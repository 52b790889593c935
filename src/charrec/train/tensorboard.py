"""TensorBoard for training runs: curves, histograms, images, the graph and hparams, live.

    from charrec.train import train
    from charrec.train.tensorboard import TensorBoardCallback

    train(config, callbacks=[TensorBoardCallback(Path(config.run.out) / "tensorboard")])

then `charrec tensorboard runs` (or `launch_tensorboard("runs")`) and open the URL. Every
run folder's tensorboard/ is one run in TensorBoard, named after the folder.

What is written, by tag (TensorBoard groups tags into sections by their first part):

    scalars, x = epoch      loss/train, loss/val, accuracy/train, accuracy/val, lr,
                            speed/images_per_second, time/epoch_seconds, time/train_seconds
    scalars, x = step       step/loss, step/accuracy, step/lr: running means of the epoch
                            so far, every `step_every` optimizer steps
    custom scalars          train and validation loss (and accuracy) in one chart each
    histograms              weights/<parameter> at the start (step 0; not on resuming), and
                            weights/ and gradients/<parameter> every `histogram_every` epochs
    images                  inputs/samples: the first training images, at the start;
                            inputs/augmented: four augmented draws of them, one per row;
                            misclassified/val: up to 64 validation mistakes per epoch,
                            captioned true→pred; listed in order, with their indices,
                            in the text misclassified/val/text_summary
    graph                   the model traced on the sample batch (skipped, with a warning,
                            for models that cannot be traced)
    hparams                 the flattened config at the start; final/val_accuracy,
                            final/val_loss, final/test_accuracy, final/test_loss,
                            final/train_seconds, final/parameters at the end

The events are flushed at the end of every epoch (and every few seconds), so TensorBoard
shows a run while it trains. A callback never changes the run: it uses its own random
generator, traces the graph in eval mode, and reads tensors only.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from charrec.errors import CharrecError, ConfigError
from charrec.train.callbacks import Callback

log = logging.getLogger(__name__)

# History row key -> scalar tag. Train and validation share a first part, so TensorBoard
# puts them side by side (and the custom-scalars layout overlays them).
EPOCH_SCALARS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "train_accuracy": "accuracy/train",
    "val_accuracy": "accuracy/val",
    "lr": "lr",
    "images_per_second": "speed/images_per_second",
    "epoch_time": "time/epoch_seconds",
    "train_time": "time/train_seconds",
}
STEP_SCALARS = {"loss": "step/loss", "accuracy": "step/accuracy", "lr": "step/lr"}
MAX_MISTAKES = 64
AUGMENTED_DRAWS = 4
GRID_COLUMNS = 8

# Config keys that say where files are, not how the model was trained: as hparams they
# would make every run look different.
_NOT_HPARAMS = ("data.data_dir", "run.out")


class TensorBoardCallback(Callback):
    """Writes a run's curves, histograms, images, graph and hparams into `log_dir`.

    `histogram_every`: weight and gradient histograms every this many epochs (0: none).
    `step_every`: step scalars every this many optimizer steps (0: none). `graph`: trace the
    model's graph at the start (a fraction of a second per run). The writer opens
    at the first hook and closes at `on_train_end`; a later run reopens it.
    """

    def __init__(
        self,
        log_dir: str | Path,
        histogram_every: int = 1,
        step_every: int = 10,
        graph: bool = True,
    ) -> None:
        for name, value in (("histogram_every", histogram_every), ("step_every", step_every)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"TensorBoard {name} must be a whole number ≥ 0, got {value!r}")
        self.log_dir = Path(log_dir)
        self.histogram_every = histogram_every
        self.step_every = step_every
        self.graph = graph
        self._writer: Any = None
        self._next_step = step_every
        self._hparams: dict[str, Any] = {}
        self._graph_warned = False

    # -- the writer -------------------------------------------------------------------------

    @property
    def writer(self) -> Any:
        """The SummaryWriter, opened on first use (not in __init__: the run folder may not
        exist yet, and a callback built for a run that fails early should write nothing)."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # flush_secs: step curves of a long epoch appear within seconds, not minutes.
            self._writer = SummaryWriter(log_dir=str(self.log_dir), flush_secs=10)
        return self._writer

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # -- hooks ------------------------------------------------------------------------------

    def on_train_start(self, model: nn.Module, config: Any, sample_batch: torch.Tensor) -> None:
        # Earlier events here mean a resumed run: its weights are no longer the initial ones.
        fresh = not any(self.log_dir.glob("events.out.tfevents.*"))
        writer = self.writer
        self._next_step = self.step_every
        writer.add_custom_scalars(
            {
                "train vs val": {
                    "loss": ["Multiline", ["loss/train", "loss/val"]],
                    "accuracy": ["Multiline", ["accuracy/train", "accuracy/val"]],
                }
            }
        )
        self._log_inputs(config, sample_batch)
        if self.graph:
            self._log_graph(model, sample_batch)
        if self.histogram_every and fresh:
            self._log_histograms(model, 0, gradients=False)
        self._hparams = hparams_from_config(config)
        if self._hparams:
            self._write_hparams(end=False)
        writer.flush()

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        # The loop reports every step on a CPU and every few on a GPU: log at the first
        # report at or past each multiple of step_every.
        if not self.step_every or step < self._next_step:
            return
        self._next_step = (step // self.step_every + 1) * self.step_every
        for key, tag in STEP_SCALARS.items():
            if metrics.get(key) is not None:
                self.writer.add_scalar(tag, float(metrics[key]), step)

    def on_validation_end(
        self,
        epoch: int,
        images: torch.Tensor,
        labels: torch.Tensor,
        predictions: torch.Tensor,
        classes: tuple[str, ...],
    ) -> None:
        labels, predictions = labels.detach().cpu(), predictions.detach().cpu()
        wrong = torch.nonzero(predictions != labels).flatten()[:MAX_MISTAKES]
        if len(wrong) == 0:
            return
        picked = images[wrong.to(images.device)].detach().cpu()
        if picked.dim() == 3:
            picked = picked.unsqueeze(1)
        picked = picked.float() / 255.0 if not picked.is_floating_point() else picked.float()
        true = [_class_name(classes, int(i)) for i in labels[wrong]]
        pred = [_class_name(classes, int(i)) for i in predictions[wrong]]
        captions = [f"{t}→{p}" for t, p in zip(true, pred, strict=True)]
        grid = captioned_grid(picked, captions)
        self.writer.add_image("misclassified/val", grid, epoch, dataformats="HWC")
        rows = [
            f"| {n + 1} | {_markdown(t)} | {_markdown(p)} | {int(i)} |"
            for n, (t, p, i) in enumerate(zip(true, pred, wrong.tolist(), strict=True))
        ]
        count = int((predictions != labels).sum())
        text = "\n".join(
            [
                f"{count:,} of {len(labels):,} validation images misclassified; "
                f"the first {len(wrong)}, left to right, top to bottom:",
                "",
                "| # | true | predicted | validation index |",
                "|---|---|---|---|",
                *rows,
            ]
        )
        self.writer.add_text("misclassified/val", text, epoch)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> None:
        writer = self.writer
        for key, tag in EPOCH_SCALARS.items():
            if metrics.get(key) is not None:
                writer.add_scalar(tag, float(metrics[key]), epoch)
        if self.histogram_every and epoch % self.histogram_every == 0:
            self._log_histograms(model, epoch, gradients=True)
        writer.flush()  # so TensorBoard shows the epoch now

    def on_train_end(self, final_metrics: dict[str, Any]) -> None:
        writer = self.writer
        step = int(final_metrics.get("epochs") or 0)
        for tag, value in final_scalars(final_metrics).items():
            writer.add_scalar(tag, value, step)
        if self._hparams:
            self._write_hparams(end=True)
        self.close()

    # -- what the hooks write --------------------------------------------------------------

    def _log_inputs(self, config: Any, sample_batch: torch.Tensor) -> None:
        if sample_batch is None or sample_batch.dim() != 4 or len(sample_batch) == 0:
            return
        images = display_range(sample_batch.detach().float().cpu())
        columns = min(GRID_COLUMNS, len(images))
        self.writer.add_image("inputs/samples", make_grid(images, columns), 0)
        augment = getattr(config, "augment", None)
        from charrec.train.augment import AugmentConfig, Augmenter

        if not isinstance(augment, AugmentConfig) or not augment.enabled:
            return
        # As the loop does: augment pixels in [0, 1] with background 0, before
        # normalising; a generator of our own, so the run's random streams are untouched.
        seed = int(getattr(getattr(config, "training", None), "seed", 0) or 0)
        augmenter = Augmenter(augment, torch.Generator().manual_seed(seed))
        draws = augmenter(images.repeat(AUGMENTED_DRAWS, 1, 1, 1)).clamp_(0.0, 1.0)
        self.writer.add_image("inputs/augmented", make_grid(draws, len(images)), 0)

    def _log_graph(self, model: nn.Module, sample_batch: torch.Tensor) -> None:
        try:
            # add_graph traces in eval mode (no dropout draws, no batch-norm updates) and
            # prints its own error messages; we report one line instead.
            with (
                warnings.catch_warnings(),
                contextlib.redirect_stdout(io.StringIO()),
                torch.no_grad(),
            ):
                warnings.simplefilter("ignore")
                self.writer.add_graph(model, sample_batch)
        except Exception as exc:  # tracing is best effort: the run must go on
            if not self._graph_warned:
                self._graph_warned = True
                name = type(model).__name__
                message = str(exc).strip()
                first = message.splitlines()[0] if message else type(exc).__name__
                log.warning("TensorBoard: no graph for %s, it cannot be traced (%s)", name, first)

    def _log_histograms(self, model: nn.Module, step: int, gradients: bool) -> None:
        for name, param in model.named_parameters():
            self._histogram(f"weights/{name}", param, step)
            if gradients and param.grad is not None:
                self._histogram(f"gradients/{name}", param.grad, step)

    def _histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        values = values.detach().float().cpu().flatten()
        finite = values[torch.isfinite(values)]  # a NaN or inf would break the binning
        if len(finite):
            self.writer.add_histogram(tag, finite, step)

    def _write_hparams(self, end: bool) -> None:
        from torch.utils.tensorboard.summary import hparams

        # Only the session summaries, not the experiment summary: with no experiment
        # summary anywhere, TensorBoard builds the HParams table from every run under the
        # log dir, with each scalar tag as a metric column. (SummaryWriter.add_hparams
        # writes an experiment summary into a new sub-folder per call, and TensorBoard
        # then takes the columns of one arbitrary run.)
        _experiment, start_info, end_info = hparams(self._hparams, {})
        self.writer.file_writer.add_summary(end_info if end else start_info)


# --- config -> hparams -------------------------------------------------------------------


def hparams_from_config(config: Any) -> dict[str, bool | int | float | str]:
    """The config as flat scalar hparams: {"optim.lr": 0.001, "model.name": "mlp", ...}.

    Model options include the model's defaults (so runs compare on dropout, batch_norm,
    activation ... even when only one set them); augmentation gets an `augment.preset`
    naming the preset its values equal ("custom" if none). Lists become strings; None and
    the file locations (data.data_dir, run.out) are left out.
    """
    if hasattr(config, "to_dict"):
        plain = config.to_dict()
    elif isinstance(config, Mapping):
        plain = dict(config)
    else:
        return {}
    model = plain.get("model")
    if isinstance(model, dict) and isinstance(model.get("name"), str):
        with contextlib.suppress(CharrecError, ImportError):
            from charrec.models import model_info

            options = model.get("options") or {}
            model = {**model, "options": model_info(model["name"]).resolve(options)}
            plain = {**plain, "model": model}
    augment = getattr(config, "augment", None)
    flat: dict[str, bool | int | float | str] = {}
    _flatten(plain, "", flat)
    preset = _preset_name(augment)
    if preset is not None:
        flat["augment.preset"] = preset
    return dict(sorted(flat.items()))


def _flatten(value: Any, prefix: str, out: dict[str, bool | int | float | str]) -> None:
    if prefix in _NOT_HPARAMS or value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, bool):
        # As strings: torch writes bools as 0/1 numbers; "true"/"false" read better.
        out[prefix] = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        out[prefix] = value
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(list(value))
    else:
        out[prefix] = str(value)


def _preset_name(augment: Any) -> str | None:
    from charrec.train.augment import AugmentConfig

    if not isinstance(augment, AugmentConfig):
        return None
    for name in AugmentConfig.preset_names():
        if AugmentConfig.preset(name) == augment:
            return name
    return "custom"


def final_scalars(final_metrics: Mapping[str, Any]) -> dict[str, float]:
    """The end-of-run metrics (what the HParams table compares runs on), by tag."""
    out: dict[str, float] = {}
    for split in ("val", "test"):
        result = final_metrics.get(split)
        if isinstance(result, Mapping):
            for name in ("accuracy", "loss"):
                if result.get(name) is not None:
                    out[f"final/{split}_{name}"] = float(result[name])
    for key, tag in (("train_time", "final/train_seconds"), ("parameters", "final/parameters")):
        if final_metrics.get(key) is not None:
            out[tag] = float(final_metrics[key])
    return {tag: value for tag, value in out.items() if math.isfinite(value)}


# --- images ---------------------------------------------------------------------------------


def display_range(batch: torch.Tensor) -> torch.Tensor:
    """A normalised batch back in [0, 1] for display.

    The loop normalises (pixels / 255 - mean) / std with the training set's mean and std,
    which callbacks do not get; the background (pixel 0) is the batch's minimum and full
    ink (255, which a few character images always reach) its maximum, so rescaling that
    range to [0, 1] undoes the normalisation.
    """
    low, high = batch.min(), batch.max()
    if not torch.isfinite(high - low) or float(high - low) <= 0:
        return torch.zeros_like(batch)
    return ((batch - low) / (high - low)).clamp_(0.0, 1.0)


def make_grid(
    images: torch.Tensor, columns: int = GRID_COLUMNS, padding: int = 2, pad_value: float = 0.5
) -> torch.Tensor:
    """Tile images N×C×H×W (or N×H×W) into one C×H'×W' image, row by row, `columns` wide.

    Values are kept as given (use floats in [0, 1]); the gaps are `pad_value`.
    """
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4:
        raise ValueError(f"make_grid expects N×C×H×W images, got {tuple(images.shape)}")
    n, channels, height, width = images.shape
    columns = max(1, min(columns, n)) if n else 1
    rows = max(1, math.ceil(n / columns))
    cell_h, cell_w = height + padding, width + padding
    grid = images.new_full((channels, rows * cell_h + padding, columns * cell_w + padding), 0.0)
    grid.fill_(pad_value)
    for i in range(n):
        top, left = padding + (i // columns) * cell_h, padding + (i % columns) * cell_w
        grid[:, top : top + height, left : left + width] = images[i]
    return grid


def captioned_grid(
    images: torch.Tensor,
    captions: Sequence[str],
    columns: int = GRID_COLUMNS,
    scale: int = 2,
) -> np.ndarray:
    """Images N×1×H×W in [0, 1], each enlarged `scale` times with its caption below:
    one RGB uint8 image H'×W'×3 (for add_image with dataformats="HWC")."""
    from PIL import Image, ImageDraw

    n, _, height, width = images.shape
    font, has_arrow = _caption_font()
    caption_h, padding = 13, 2
    cell_h, cell_w = height * scale + caption_h, width * scale
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    size = (columns * (cell_w + padding) + padding, rows * (cell_h + padding) + padding)
    canvas = Image.new("RGB", size, (96, 96, 96))
    draw = ImageDraw.Draw(canvas)
    pixels = (images[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    for i in range(n):
        left = padding + (i % columns) * (cell_w + padding)
        top = padding + (i // columns) * (cell_h + padding)
        tile = Image.fromarray(pixels[i]).resize((cell_w, height * scale), Image.Resampling.NEAREST)
        canvas.paste(tile.convert("RGB"), (left, top))
        draw.rectangle([left, top + height * scale, left + cell_w - 1, top + cell_h - 1], (0, 0, 0))
        text = captions[i] if has_arrow else captions[i].replace("→", ">")
        box = draw.textbbox((0, 0), text, font=font)
        x = left + max(0, (cell_w - (box[2] - box[0])) // 2)
        draw.text((x, top + height * scale), text, fill=(255, 220, 80), font=font)
    return np.asarray(canvas)


@functools.lru_cache(maxsize=1)
def _caption_font() -> tuple[Any, bool]:
    """(font, whether it draws →): DejaVu Sans, shipped with matplotlib, if found; else
    PIL's default font, which has no arrow."""
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), 10), True
    except (ImportError, OSError):
        return ImageFont.load_default(), False


def _class_name(classes: Sequence[str], index: int) -> str:
    return str(classes[index]) if 0 <= index < len(classes) else str(index)


def _markdown(text: str) -> str:
    """A class name safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_") or " "


# --- serving --------------------------------------------------------------------------------


def launch_tensorboard(
    logdir: str | Path = "runs", port: int = 6006, host: str = "127.0.0.1"
) -> str:
    """Start TensorBoard on `logdir` in a background (daemon) thread; return its URL.

    Port 0 takes any free port. The server lives as long as the process; a missing folder,
    a bad port or a port in use is a CharrecError.
    """
    path = Path(logdir)
    if not path.exists():
        raise CharrecError(
            f"runs folder {path} not found; train a run first (charrec train) or name the "
            "folder that holds your runs"
        )
    if not path.is_dir():
        raise CharrecError(f"{path} is not a folder; name the folder that holds your runs")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise CharrecError(f"port must be a whole number from 0 to 65535, got {port!r}")
    from tensorboard import program

    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(path), "--port", str(port), "--host", host])
    try:
        return board.launch()
    except program.TensorBoardServerException as exc:
        raise CharrecError(f"cannot start TensorBoard on {host}:{port}: {exc.msg}") from None
