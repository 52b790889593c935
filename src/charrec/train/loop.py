"""The training loop: `train(config)` runs a config into a run folder, `resume(run)` goes on.

Design, for speed on a CPU (and a GPU alike):

- the training set is one uint8 tensor N×1×28×28 on the device; an epoch is a seeded
  permutation, each batch is `images[index]`, converted to float, augmented as a batch
  with tensor ops, normalised, and fed forward: no DataLoader, no per-image Python;
- metrics accumulate on the device and are read every `LOG_EVERY` steps (also the
  NaN check), so a GPU is not synchronised at every step;
- channels_last is on by default (it measured faster for every CNN of the zoo on CPU);
  bf16 autocast and batch shards (charrec.train.shards: a batch split over CPU threads)
  are options: measure before using them (`charrec bench train`).

Reproducible: every epoch draws its permutation, augmentation and dropout randomness from
seeds derived from (seed, epoch, rank), so an epoch's result does not depend on what ran
before it in the process, and a resumed run repeats an uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

from charrec.errors import CharrecError, ConfigError
from charrec.fileio import write_json
from charrec.train.augment import Augmenter
from charrec.train.callbacks import Callback, CallbackList
from charrec.train.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    RunFolder,
    build_model,
    load_state,
    read_json,
    save_state,
    save_weights,
    state_dict_for_saving,
)
from charrec.train.config import TrainConfig
from charrec.train.distill import Teachers
from charrec.train.distributed import Distributed
from charrec.train.early_stopping import EarlyStopping
from charrec.train.optim import (
    LRSchedule,
    create_optimizer,
    l1_penalty,
    schedule_params,
    split_weight_decay,
)
from charrec.train.precision import resolve_precision
from charrec.train.progress import ProgressCallback, format_duration
from charrec.train.reproducibility import (
    derived_seed,
    resolve_device,
    rng_states,
    seed_everything,
    set_rng_states,
    torch_settings,
)
from charrec.train.shards import BatchShards, ShardLoss, Tensors3, has_batch_norm
from charrec.train.tensor_data import load_test_split, picture_frame, prepare_data
from charrec.train.tensorboard import TensorBoardCallback

if TYPE_CHECKING:
    from charrec.train.temperature import Calibration

# Read the running metrics (and check for NaN) every this many optimizer steps: every step
# on a CPU, where reading is free; a GPU would wait for its queue at each read.
LOG_EVERY = {"cpu": 1, "cuda": 10}

STATE_FORMAT = "charrec-train-state"


@dataclass
class TrainResult:
    run_dir: Path
    # One row per epoch: epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr,
    # epoch_time, images_per_second.
    history: list[dict[str, float]]
    # What metrics.json holds.
    metrics: dict[str, Any]
    model: nn.Module


# --- the trainer ---------------------------------------------------------------------------------


class Trainer:
    """One run: built from a config, trained epoch by epoch, checkpointed after each."""

    def __init__(
        self,
        config: TrainConfig,
        run: RunFolder,
        callbacks: Sequence[Callback] = (),
        console: Console | None = None,
        verbose: bool = True,
    ) -> None:
        self.config = config.validate()
        self.run = run
        self.console = console or Console()
        self.verbose = verbose
        self.extra_callbacks = list(callbacks)
        # Check names before loading any data: unknown ones list the valid choices.
        from charrec.data import check_name
        from charrec.models import model_info

        check_name(config.data.name, config.data.classes)
        schedule_params(config.schedule)
        if config.transfer.source is not None and config.transfer.strategy == "zero-shot":
            raise ConfigError(
                "transfer strategy 'zero-shot' trains nothing; run it with "
                "`charrec transfer --config`"
            )
        # Resolved options, so the saved config and model.json name every one.
        self.model_options = _plain(model_info(config.model.name).resolve(config.model.options))

    # -- setup ------------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg = self.config
        device = resolve_device(cfg.training.device)
        self.dist = Distributed.from_env(device.type)
        self.device = self.dist.device(device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        main = self.dist.is_main
        callbacks = list(self.extra_callbacks) if main else []
        if main and not any(isinstance(c, TensorBoardCallback) for c in callbacks):
            # Every run folder carries its TensorBoard events.
            callbacks.append(TensorBoardCallback(self.run.tensorboard))
        if self.verbose and main:
            callbacks.insert(0, ProgressCallback(self.console))
        self.callbacks = CallbackList(callbacks)

        seed = cfg.training.seed
        seed_everything(seed)
        self.data = prepare_data(cfg).to(self.device)
        if len(self.data.train_y) == 0:
            raise CharrecError(f"{cfg.data.name}: no training images left")
        self.image_size = int(self.data.train_x.shape[-1])
        from charrec.models import count_parameters

        torch.manual_seed(seed)
        model, lr_scales = self._build_model()
        # Every parameter, frozen ones too (a transfer run may train only some).
        self.parameters = count_parameters(model, trainable_only=False)
        self.memory_format = (
            torch.channels_last if cfg.training.channels_last else torch.contiguous_format
        )
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.optimizer = create_optimizer(self.model, cfg.optim, lr_scales)
        self.global_batch = cfg.training.batch_size
        n_train = len(self.data.train_y)
        # A last batch of fewer than 2 images per process is skipped: batch norm cannot
        # train on one image, and a fresh permutation each epoch lets every image in.
        full, rest = divmod(n_train, self.global_batch)
        self.steps_per_epoch = full + (1 if rest >= 2 * self.dist.world_size else 0)
        self.schedule = LRSchedule(
            self.optimizer, cfg.schedule, cfg.optim.lr, self.steps_per_epoch, cfg.training.epochs
        )
        self.stopper = EarlyStopping(cfg.training.early_stopping)
        self.l1_weights = split_weight_decay(self.model)[0] if cfg.regularisation.l1 else []
        self.precision = resolve_precision(cfg.training.precision, self.device, self.model)
        self.autocast = self.precision == "bf16"
        self.log_every = LOG_EVERY.get(self.device.type, 10)
        self.history: list[dict[str, float]] = []
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.stopped_early = False
        self.ddp_model = self.dist.wrap(self.model, self.device)
        self._check_batch_shards()
        self.teachers = self._load_teachers()

    def _load_teachers(self) -> Teachers | None:
        """distill.teachers, frozen beside the model, in its normalisation and precision."""
        data = self.data
        teachers = Teachers.from_config(
            self.config.distill, data.classes, data.mean, data.std, self.image_size
        )
        if teachers is None:
            return None
        teachers.device_type, teachers.autocast = self.device.type, self.autocast
        return teachers.to(self.device, memory_format=self.memory_format)

    def _build_model(self) -> tuple[nn.Module, dict[nn.Parameter, float] | None]:
        """The configured model, or with transfer.source the source adapted to this data."""
        cfg = self.config
        self.model_spec: dict[str, Any] = {}
        if cfg.transfer.source is None or cfg.transfer.strategy == "scratch":
            size = self.image_size
            return build_model(
                cfg.model.name, self.model_options, self.data.num_classes, size
            ), None
        from charrec.transfer.run import transfer_model

        prepared = transfer_model(cfg, self.data.classes)
        # The source's normalisation: its features were learnt on inputs scaled that way.
        self.data = replace(self.data, mean=prepared.mean, std=prepared.std)
        self.model_spec = prepared.spec
        return prepared.model, prepared.lr_scales

    def _check_batch_shards(self) -> None:
        count = self.config.training.batch_shards
        if count == 1:
            return
        where = f"training.batch_shards={count}"
        if self.device.type != "cpu":
            raise ConfigError(f"{where} splits batches over CPU threads; on {self.device} use 1")
        if self.dist.enabled:
            raise ConfigError(f"{where} runs in one process; under torchrun use 1")
        if has_batch_norm(self.model):
            raise ConfigError(
                f"{where} needs a model without batch norm (its statistics would be per "
                f"shard); {self.config.model.name} has batch norm: set "
                "model.options.batch_norm=false or use 1"
            )

    def _config_to_save(self) -> TrainConfig:
        """The config as run: model options resolved, output folder fixed."""
        cfg = self.config
        model = replace(cfg.model, options=dict(self.model_options))
        return replace(cfg, model=model, run=replace(cfg.run, out=str(self.run.path)))

    # -- batches --------------------------------------------------------------------------

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.data.mean) / self.data.std
        return x.contiguous(memory_format=self.memory_format)

    def _inputs(self, images: torch.Tensor, augmenter: Augmenter | None) -> torch.Tensor:
        """uint8 batch -> float in [0, 1] -> augmented (background stays 0) -> normalised."""
        x = images.float().mul_(1.0 / 255.0)
        if augmenter is not None:
            x = augmenter(x)
        return self._normalise(x)

    def _forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return model(x).float()

    # -- one epoch ------------------------------------------------------------------------

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        cfg, data, dist = self.config, self.data, self.dist
        seed = cfg.training.seed
        # Same permutation on every rank; augmentation and dropout differ per rank.
        perm_gen = torch.Generator().manual_seed(derived_seed(seed, epoch, 0))
        perm = torch.randperm(len(data.train_y), generator=perm_gen).to(self.device)
        augmenter = None
        if cfg.augment.enabled:
            aug_gen = torch.Generator().manual_seed(derived_seed(seed, epoch, 1, dist.rank))
            augmenter = Augmenter(cfg.augment, aug_gen)
        torch.manual_seed(derived_seed(seed, epoch, 2, dist.rank))

        self.ddp_model.train()
        # Each rank's loss is its share of the global batch mean; DDP averages gradients
        # over ranks, so the update equals the single-process one for the same global batch.
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        seen = 0
        shards = self._batch_shards(epoch)
        with shards or contextlib.nullcontext():
            start = time.perf_counter()
            for batch in range(self.steps_per_epoch):
                index = perm[batch * self.global_batch : (batch + 1) * self.global_batch]
                global_size = len(index)
                index = dist.shard(index)
                y = data.train_y[index]
                scale = dist.world_size / global_size
                self.optimizer.zero_grad(set_to_none=True)
                if shards is None:
                    batch_loss, loss, logits = self._batch_loss(
                        self.ddp_model, data.train_x[index], y, augmenter, scale, with_l1=True
                    )
                    loss.backward()
                    batch_correct = (logits.detach().argmax(1) == y).sum()
                else:
                    result = shards.step(data.train_x[index], y, self._shard_loss(scale))
                    batch_loss, batch_correct = result.loss_sum, result.correct
                self.optimizer.step()
                self.schedule.step()
                loss_sum += batch_loss.detach()
                correct += batch_correct
                seen += len(y)
                if (batch + 1) % self.log_every == 0 or batch + 1 == self.steps_per_epoch:
                    totals = dist.sum(
                        torch.stack([loss_sum, correct.double(), loss_sum.new_tensor(seen)])
                    )
                    running_loss, running_correct, running_seen = totals.tolist()
                    if not math.isfinite(running_loss):
                        self._diverged(epoch, batch + 1)
                    elapsed = time.perf_counter() - start
                    self.callbacks.on_step(
                        (epoch - 1) * self.steps_per_epoch + batch + 1,
                        {
                            "epoch": epoch,
                            "batch": batch + 1,
                            "batches": self.steps_per_epoch,
                            "images": running_seen,
                            "loss": running_loss / running_seen,
                            "accuracy": running_correct / running_seen,
                            "lr": self.schedule.lr,
                            "images_per_second": running_seen / max(elapsed, 1e-9),
                        },
                    )
            train_time = time.perf_counter() - start
        return {
            "train_loss": running_loss / running_seen,
            "train_accuracy": running_correct / running_seen,
            # The rate the epoch's last step used.
            "lr": self.schedule.lr_at(self.schedule.step_count - 1),
            "train_time": train_time,
            "images_per_second": running_seen / max(train_time, 1e-9),
        }

    def _batch_shards(self, epoch: int) -> BatchShards | None:
        """The epoch's parallel shards (training.batch_shards > 1), or None."""
        cfg, count, rank = self.config, self.config.training.batch_shards, self.dist.rank
        if count == 1:
            return None
        seed = cfg.training.seed
        self.shard_augmenters = [
            Augmenter(
                cfg.augment, torch.Generator().manual_seed(derived_seed(seed, epoch, 1, rank, s))
            )
            if cfg.augment.enabled
            else None
            for s in range(count)
        ]
        seeds = [derived_seed(seed, epoch, 2, rank, s) for s in range(count)]
        return BatchShards(self.model, count, seeds)

    def _batch_loss(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        augmenter: Augmenter | None,
        scale: float,
        with_l1: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(summed cross-entropy to report, the loss to differentiate, logits) of a batch."""
        cfg = self.config.regularisation
        x = self._inputs(images, augmenter)
        logits = self._forward(model, x)
        batch_loss = F.cross_entropy(
            logits, labels, label_smoothing=cfg.label_smoothing, reduction="sum"
        )
        loss = batch_loss
        if self.teachers is not None:
            loss = self.teachers.loss(batch_loss, x, logits)
        loss = loss * scale
        if cfg.l1 and with_l1:
            loss = loss + cfg.l1 * l1_penalty(self.l1_weights)
        return batch_loss, loss, logits

    def _shard_loss(self, scale: float) -> ShardLoss:
        """The loss of one shard of a batch, as BatchShards runs it on a worker thread."""

        def shard_loss(images: torch.Tensor, labels: torch.Tensor, shard: int) -> Tensors3:
            # The L1 penalty once per batch: with the first shard.
            augmenter = self.shard_augmenters[shard]
            return self._batch_loss(self.model, images, labels, augmenter, scale, shard == 0)

        return shard_loss

    def _diverged(self, epoch: int, batch: int) -> None:
        last = self.history[-1]["epoch"] if self.history else None
        kept = (
            f"the last good checkpoint (epoch {int(last)}) is in {self.run.path}"
            if last is not None
            else "no epoch finished, so no checkpoint was saved"
        )
        raise CharrecError(
            f"training diverged: the loss became NaN or infinite in epoch {epoch} by batch "
            f"{batch} (learning rate {self.schedule.lr:.3g}); {kept}. "
            "Try a lower learning rate (--lr) or warm-up (--warmup)."
        )

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float] | None:
        """Mean cross-entropy (no smoothing) and accuracy, sharded over ranks; None if empty."""
        return self._evaluate(images, labels)[0]

    @torch.no_grad()
    def _evaluate(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[dict[str, float] | None, torch.Tensor, torch.Tensor]:
        """(metrics over all ranks, this rank's indices, its predicted classes)."""
        index = self.dist.shard(torch.arange(len(labels), device=images.device))
        if len(labels) == 0:
            return None, index, index
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.float64)
        predictions = []
        step = self.config.training.eval_batch_size
        for start in range(0, len(index), step):
            part = index[start : start + step]
            x = self._inputs(images[part].to(self.device), None)
            y = labels[part].to(self.device)
            logits = self._forward(self.model, x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum")
            predictions.append(logits.argmax(1))
            correct += (predictions[-1] == y).sum()
        loss, correct = self.dist.sum(torch.stack([loss_sum, correct])).tolist()
        metrics = {"loss": loss / len(labels), "accuracy": correct / len(labels)}
        return metrics, index, torch.cat(predictions) if predictions else index

    # -- checkpoints ----------------------------------------------------------------------

    def _model_meta(self, epoch: int, metrics: dict[str, Any]) -> dict[str, Any]:
        cfg, data = self.config, self.data
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": {"name": cfg.model.name, "options": self.model_options, **self.model_spec},
            "num_classes": data.num_classes,
            "classes": list(data.classes),
            "parameters": self.parameters,
            "preprocessing": {
                "input_size": [self.image_size, self.image_size],
                "channels": 1,
                "dtype": "uint8",
                "scale": 1 / 255,
                "mean": data.mean,
                "std": data.std,
                "ink": "white-on-black",
                "formula": "(pixels / 255 - mean) / std",
                "frame": picture_frame(cfg.data),
            },
            "data": {
                "name": cfg.data.name,
                "split": data.train_split,
                "val_split": data.val_split,
                "classes": cfg.data.classes,
                "train_images": len(data.train_y),
                "val_images": len(data.val_y),
                "limit": cfg.data.limit,
                "val_fraction": cfg.data.val_fraction,
                "folds": cfg.data.folds,
                "fold": cfg.data.fold,
                "fold_seed": cfg.data.fold_seed,
                "seed": cfg.training.seed,
                "fingerprint": data.fingerprint,
                "extra": [asdict(extra) for extra in cfg.data.extra],
            },
            "precision": self.precision,
            **({"distillation": self.teachers.describe()} if self.teachers is not None else {}),
            "epoch": epoch,
            "metrics": metrics,
        }

    def _save_epoch(self, epoch: int, metrics: dict[str, float], improved: bool) -> None:
        """model, best, history, then state.pt last: state.pt always names a complete epoch."""
        run, weights = self.run, state_dict_for_saving(self.model)
        tag = {"epoch": str(epoch), "format": FORMAT}
        save_weights(run.weights, weights, tag)
        write_json(run.model_json, self._model_meta(epoch, metrics))
        if improved and self.stopper.enabled:
            save_weights(run.best_weights, weights, tag)
        if self.config.training.keep_snapshots:
            self._keep_snapshot(epoch, weights, tag)
        write_json(run.history, self.history)
        save_state(run.state, self._state(epoch, weights))

    def _keep_snapshot(
        self, epoch: int, weights: dict[str, torch.Tensor], tag: dict[str, str]
    ) -> None:
        """This epoch's weights into snapshots/, and only the last keep_snapshots there."""
        run, keep = self.run, self.config.training.keep_snapshots
        run.snapshots.mkdir(exist_ok=True)
        save_weights(run.snapshot(epoch), weights, tag)
        for number, path in run.list_snapshots():
            # Epochs after this one are from before a resume went back; they are redone.
            if number <= epoch - keep or number > epoch:
                path.unlink(missing_ok=True)

    def _state(self, epoch: int, weights: dict[str, torch.Tensor]) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "epoch": epoch,
            "model": weights,
            "best_model": self.best_weights,
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "early_stopping": self.stopper.state_dict(),
            "stopped_early": self.stopped_early,
            "history": self.history,
            "data_fingerprint": self.data.fingerprint,
            "rng": rng_states(),
        }

    def _load_state(self, state: dict[str, Any]) -> int:
        """Restore a saved state; returns the last completed epoch."""
        if state.get("data_fingerprint") != self.data.fingerprint:
            raise CharrecError(
                f"cannot resume {self.run.path}: the training data differs from the data the run "
                "started with (fingerprint mismatch)"
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CharrecError(
                f"cannot resume {self.run.path}: state.pt does not fit the configured model "
                f"and optimizer ({str(exc).splitlines()[0]})"
            ) from None
        self.schedule.load_state_dict(state["schedule"])
        self.stopper.load_state_dict(state["early_stopping"])
        self.stopped_early = bool(state["stopped_early"])
        self.history = list(state["history"])
        self.best_weights = state["best_model"]
        set_rng_states(state["rng"])
        return int(state["epoch"])

    # -- the run ----------------------------------------------------------------------------

    def fit(self, state: dict[str, Any] | None = None, overwrite: bool = False) -> TrainResult:
        """Train from scratch, or from a resume `state`, to the end; write metrics.json."""
        cfg = self.config
        with torch_settings(cfg.training.num_threads, resolve_device(cfg.training.device)):
            try:
                return self._fit(state, overwrite)
            finally:
                if hasattr(self, "dist"):
                    self.dist.close()

    def _fit(self, state: dict[str, Any] | None, overwrite: bool) -> TrainResult:
        cfg = self.config
        self._setup()
        main = self.dist.is_main
        done = 0
        if state is not None:
            done = self._load_state(state)
        elif main:
            self.run.prepare(overwrite)
            self._config_to_save().to_yaml(self.run.config)
        self.dist.barrier()
        if main and self.verbose:
            self._print_header(done)
        sample = self._inputs(self.data.train_x[:8], None)
        self.callbacks.on_train_start(self.model, cfg, sample)

        for epoch in range(done + 1, cfg.training.epochs + 1):
            if self.stopped_early:
                break
            start = time.perf_counter()
            row: dict[str, Any] = {"epoch": epoch}
            row.update(self._train_epoch(epoch))
            val, index, predictions = self._evaluate(self.data.val_x, self.data.val_y)
            if val is not None:
                # Under DDP, rank 0's share of the validation set.
                images, labels = self.data.val_x[index], self.data.val_y[index]
                self.callbacks.on_validation_end(
                    epoch, images, labels, predictions, self.data.classes
                )
            row["val_loss"] = val["loss"] if val else None
            row["val_accuracy"] = val["accuracy"] if val else None
            row["epoch_time"] = time.perf_counter() - start
            improved = self.stopper.update(epoch, row)
            if improved and self.stopper.enabled:
                self.best_weights = state_dict_for_saving(self.model)
            self.schedule.epoch_end(row)
            self.stopped_early = self.stopper.should_stop
            self.history.append(row)
            if main:
                self._save_epoch(epoch, row, improved)
            self.callbacks.on_epoch_end(epoch, row, self.model)
        return self._finish()

    def _finish(self) -> TrainResult:
        cfg, run, stopper = self.config, self.run, self.stopper
        start = time.perf_counter()
        last_epoch = int(self.history[-1]["epoch"])
        restored = bool(
            cfg.training.early_stopping.restore_best
            and stopper.enabled
            and self.best_weights is not None
            and stopper.best_epoch != last_epoch
        )
        if restored:
            self.model.load_state_dict(self.best_weights)
        final_epoch = stopper.best_epoch if restored else last_epoch
        shares = None
        if cfg.training.prior_correction:
            from charrec.train.prior import adjust_for_balanced_prior

            shares = adjust_for_balanced_prior(
                self.model, self.data.train_y, cfg.training.prior_correction
            )
        calibration = self._calibrate(shares) if cfg.training.calibrate else None
        val = self.evaluate(self.data.val_x, self.data.val_y)
        test = None
        if cfg.data.evaluate_test and self.data.has_test:
            test_x, test_y = load_test_split(cfg)
            test = self.evaluate(test_x.to(self.device), test_y.to(self.device))
        train_time = sum(row["epoch_time"] for row in self.history)
        metrics = {
            "epochs": last_epoch,
            "final_epoch": final_epoch,
            "best_epoch": stopper.best_epoch,
            "stopped_early": self.stopped_early,
            "restored_best": restored,
            "val": val,
            "test": test,
            "parameters": self.parameters,
            "train_time": train_time,
            "total_time": train_time + time.perf_counter() - start,
            "images_per_second": float(np.mean([r["images_per_second"] for r in self.history])),
            "device": str(self.device),
            "world_size": self.dist.world_size,
        }
        if self.dist.is_main:
            flat = {"val_loss": val["loss"] if val else None}
            flat["val_accuracy"] = val["accuracy"] if val else None
            if test:
                flat.update(test_loss=test["loss"], test_accuracy=test["accuracy"])
            tag = {"epoch": str(final_epoch), "format": FORMAT}
            save_weights(run.weights, state_dict_for_saving(self.model), tag)
            meta = self._model_meta(final_epoch, flat)
            if shares is not None:
                # The saved logit biases carry the correction; the epochs' weights did not.
                meta["prior_correction"] = {
                    "tau": cfg.training.prior_correction,
                    "train_shares": shares,
                }
            if calibration is not None:
                # Folded into the saved logits layer, like the prior correction.
                meta["calibration"] = calibration.to_dict()
            write_json(run.model_json, meta)
            # Keep what others added to an earlier metrics.json (e.g. `charrec evaluate`).
            write_json(run.metrics, {**_earlier_metrics(run), **metrics})
            if self.verbose:
                self._print_footer(metrics)
        self.callbacks.on_train_end(metrics)
        # Every rank leaves together: a rank that tears its process group down while rank 0
        # is still writing the run folder can abort on the broken connection.
        self.dist.barrier()
        return TrainResult(run.path, self.history, metrics, self.model.eval())

    @torch.no_grad()
    def _calibrate(self, shares: list[float] | None) -> Calibration:
        """Fit the temperature on the whole validation split and fold it into the model,
        last, so that the answers stay as they are (charrec.train.temperature). Every rank
        scores the whole split, so all fold the same temperature (as `charrec calibrate`
        scores it)."""
        from charrec.train.temperature import calibrate_model, model_logits

        data = self.data
        if len(data.val_y) == 0:
            raise ConfigError("training.calibrate needs a validation split; it is empty")
        step = self.config.training.eval_batch_size
        logits = model_logits(self.model, data.val_x, data.mean, data.std, self.device, step)
        tau = self.config.training.prior_correction
        calibration = calibrate_model(self.model, logits, data.val_y, shares, tau)
        if self.verbose and self.dist.is_main:
            self.console.print(calibration.summary(), highlight=False)
        return calibration

    # -- messages ---------------------------------------------------------------------------

    def _print_header(self, done: int) -> None:
        cfg, data = self.config, self.data
        n = torch.get_num_threads()
        threads = f", {n} thread{'s' * (n != 1)}" if self.device.type == "cpu" else ""
        ranks = f" × {self.dist.world_size} processes" if self.dist.enabled else ""
        what = f"resuming after epoch {done}: " if done else ""
        if done and (done >= cfg.training.epochs or self.stopped_early):
            what = f"the run is complete (epoch {done}), evaluating again: "
        self.console.print(
            f"{what}{cfg.model.name} ({self.parameters:,} parameters) on {cfg.data.name}: "
            f"{len(data.train_y):,} training / {len(data.val_y):,} validation images, "
            f"{self.device}{ranks}{threads}, {self.precision}"
            f"{', channels_last' if cfg.training.channels_last else ''}"
            f"{f', {shards} batch shards' if (shards := cfg.training.batch_shards) > 1 else ''}",
            highlight=False,
            soft_wrap=True,
        )
        self.console.print(f"run folder: {self.run.path}", highlight=False, soft_wrap=True)

    def _print_footer(self, metrics: dict[str, Any]) -> None:
        epochs = metrics["epochs"]
        parts = [
            f"trained {epochs} epoch{'s' * (epochs != 1)} in "
            f"{format_duration(metrics['train_time'])}"
        ]
        if metrics["stopped_early"]:
            parts.append("stopped early")
        if metrics["restored_best"]:
            parts.append(f"restored the best epoch ({metrics['final_epoch']})")
        for split in ("val", "test"):
            if metrics[split]:
                parts.append(f"{split} accuracy {100 * metrics[split]['accuracy']:.2f}%")
        self.console.print("; ".join(parts), highlight=False, soft_wrap=True)


def _earlier_metrics(run: RunFolder) -> dict[str, Any]:
    try:
        earlier = read_json(run.metrics) if run.metrics.exists() else {}
    except CharrecError:
        return {}  # unreadable: replaced by the new one
    return earlier if isinstance(earlier, dict) else {}


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """Tuples as lists, so options read back from YAML/JSON compare equal."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def default_run_dir(config: TrainConfig) -> Path:
    from charrec.data.registry import data_label

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.model.name}-{data_label(config.data.name)}-{stamp}"


# --- public entry points -----------------------------------------------------------------------


def train(
    config: TrainConfig,
    *,
    callbacks: Sequence[Callback] = (),
    overwrite: bool = False,
    console: Console | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Train `config` into its run folder (config.run.out, else runs/<model>-<data>-<time>).

    Progress goes to `console` (stdout by default) unless verbose=False; `callbacks`
    receive the hooks described in charrec.train.callbacks. User errors raise CharrecError.
    """
    run = RunFolder(config.run.out or default_run_dir(config))
    trainer = Trainer(config, run, callbacks, console, verbose)
    return trainer.fit(overwrite=overwrite)


def resume(
    run_dir: str | Path,
    *,
    callbacks: Sequence[Callback] = (),
    console: Console | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Continue an interrupted run from its last completed epoch, to the same end result."""
    run = RunFolder(run_dir)
    if not run.path.is_dir():
        raise CharrecError(f"run folder {run.path} not found")
    if not run.config.is_file():
        raise CharrecError(f"{run.path} is not a run folder (no config.yaml)")
    config = TrainConfig.from_yaml(run.config)
    config = replace(config, run=replace(config.run, out=str(run.path)))
    if run.started_without_epoch():
        # Nothing was saved to continue from, and nothing would be lost: start it over from
        # its own config, so that one command continues a run whenever it was stopped.
        trainer = Trainer(config, run, callbacks, console, verbose)
        if verbose:
            trainer.console.print(
                f"{run.path} saved no epoch before it stopped: training it from the start",
                highlight=False,
                soft_wrap=True,
            )
        return trainer.fit(overwrite=True)
    state = load_state(run.state)
    if run.weights.exists():
        # Not needed to resume (state.pt holds the weights), but a damaged file means a
        # damaged folder, which a resumed run should not silently build on.
        from charrec.train.checkpoint import load_weights

        load_weights(run.weights)
    trainer = Trainer(config, run, callbacks, console, verbose)
    return trainer.fit(state=state)
