"""The coursework's sections, each headed by the question it answers.

A section trains through `Context.train` (charrec.train, reused when already trained),
evaluates with charrec.evaluate, studies with charrec.study and transfers with
charrec.transfer; it adds no training or evaluation logic of its own. It returns the
blocks of its part of the report and the commands that reproduce it alone.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from charrec.coursework.context import Context, SummaryRow, Trained
from charrec.evaluate.report import Block, Figure, Table, Text

# The classic recipes' own numbers, as their authors state them.
CLAIMS = {
    "chollet-mlp": "97.8–98.4% (Chollet, Deep Learning with Python)",
    "keras-convnet": "~99.2% (Keras example \u201cSimple MNIST convnet\u201d)",
    "mnist-cnn": "99.25% (Keras examples/mnist_cnn.py, 12 epochs)",
    "nielsen": "99.60% (Nielsen, ch. 6, 60 epochs on expanded data)",
}


@dataclass
class SectionOutput:
    blocks: list[Block]
    commands: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SectionSpec:
    key: str
    question: str
    run: Callable[[Context], SectionOutput]
    # The budget fields whose values decide the section's result (for reuse).
    uses: tuple[str, ...] = ()


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _seconds(value: float | None) -> str:
    from charrec.evaluate.compare import format_seconds

    return format_seconds(value)


def _classic(ctx: Context, model: str, data: str, overrides: dict[str, Any]) -> Trained:
    trained = ctx.train(
        f"{model}-{data}",
        {
            "data.name": data,
            "model.name": model,
            "training.batch_size": 128,
            "data.limit": ctx.budget.classic_limit,
            **overrides,
        },
    )
    claim = CLAIMS.get(model, "") if data == "mnist" else ""
    ctx.note(
        SummaryRow(
            model,
            data,
            trained.test_accuracy,
            trained.train_time,
            trained.config.training.epochs,
            claim,
        )
    )
    return trained


def _chollet(ctx: Context, data: str) -> Trained:
    return _classic(
        ctx,
        "chollet-mlp",
        data,
        {"optim.name": "rmsprop", "optim.lr": 1e-3, "training.epochs": ctx.budget.chollet_epochs},
    )


def _describe_budget(trained: Trained) -> str:
    config = trained.config
    limit = config.data.limit
    images = f"{limit:,} training images" if limit else "the whole training split"
    return (
        f"{config.training.epochs} epoch{'s' * (config.training.epochs != 1)}, {images} "
        f"(10% held out for validation), {config.optim.name}, batch {config.training.batch_size}"
    )


# --- 1 ---------------------------------------------------------------------------------------


def mnist_dense(ctx: Context) -> SectionOutput:
    trained = _chollet(ctx, "mnist")
    return SectionOutput(
        [
            Text(
                "Chollet's dense net (Dense(512, relu) → Dense(10, softmax), 407,050 "
                f"parameters), {_describe_budget(trained)}: **{_pct(trained.test_accuracy)}** "
                f"on the 10,000 MNIST test images, trained in {_seconds(trained.train_time)}. "
                f"The book reports {CLAIMS['chollet-mlp']}."
            )
        ],
        [ctx.train_command(trained)],
    )


# --- 2 ---------------------------------------------------------------------------------------


def letters_grid(ctx: Context) -> SectionOutput:
    from charrec.data import load_dataset
    from charrec.evaluate.figures import image_grid

    train = load_dataset(ctx.letters, "train", ctx.data_dir)
    test = load_dataset(ctx.letters, "test", ctx.data_dir)
    pick = np.sort(np.random.default_rng(0).choice(len(train), size=48, replace=False))
    path = ctx.out / "figures" / "letters-samples.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    titles = [train.classes[train.labels[i]] for i in pick]
    image_grid(train.images[pick], titles, path, columns=12, suptitle=f"{ctx.letters}: label")
    return SectionOutput(
        [
            Text(
                f"Data: `{ctx.letters}`, because {ctx.letters_reason}. "
                f"{len(train):,} training and {len(test):,} test images of "
                f"{train.num_classes} classes ({', '.join(train.classes[:3])} … "
                f"{train.classes[-1]}; upper and lower case merged)."
            ),
            Figure(path, "48 training images drawn at random (seed 0), each with its label"),
            Text(
                "Each image shows the letter its label names, upright and white on black: "
                "the files store images transposed and the reader turns them upright."
            ),
        ],
        [f"charrec data show {ctx.letters} --split train -n 48 --out letters-samples.png"],
    )


# --- 3 ---------------------------------------------------------------------------------------


def letters_dense(ctx: Context) -> SectionOutput:
    mnist = _chollet(ctx, "mnist")
    letters = _chollet(ctx, ctx.letters)
    return SectionOutput(
        [
            Text(
                "The same dense net with its output layer resized to the 26 letters (the "
                f"Dense(512) layer unchanged), {_describe_budget(letters)}."
            ),
            Table(
                ["data", "classes", "test accuracy", "training time"],
                [
                    ["MNIST", 10, _pct(mnist.test_accuracy), _seconds(mnist.train_time)],
                    [ctx.letters, 26, _pct(letters.test_accuracy), _seconds(letters.train_time)],
                ],
                numeric=(1, 2, 3),
            ),
            Text(_letters_against_digits(letters.test_accuracy, mnist.test_accuracy)),
        ],
        [ctx.train_command(letters)],
    )


def _letters_against_digits(letters: float | None, digits: float | None) -> str:
    if letters is None or digits is None:
        return ""
    if letters < digits:
        return (
            f"Letters are harder for the same net: {_pct(letters)} against {_pct(digits)} on "
            "digits, with 2.6 times as many classes, letters that share shapes (g/q, i/l, "
            "u/v) and both cases in one class."
        )
    return f"Here the net scored {_pct(letters)} on letters, {_pct(digits)} on digits."


# --- 4 ---------------------------------------------------------------------------------------


def convnet(ctx: Context) -> SectionOutput:
    settings = {"optim.name": "adam", "training.epochs": ctx.budget.convnet_epochs}
    runs = {data: _classic(ctx, "keras-convnet", data, settings) for data in ("mnist", ctx.letters)}
    dense = {data: _chollet(ctx, data) for data in ("mnist", ctx.letters)}
    rows = [
        [
            data,
            _pct(dense[data].test_accuracy),
            _pct(runs[data].test_accuracy),
            f"{100 * ((runs[data].test_accuracy or 0) - (dense[data].test_accuracy or 0)):+.2f}",
            _seconds(runs[data].train_time),
        ]
        for data in runs
    ]
    return SectionOutput(
        [
            Text(
                "The Keras \u201cSimple MNIST convnet\u201d (Conv32-3, max pool, Conv64-3, max "
                "pool, dropout 0.5, dense softmax; 34,826 parameters for 10 classes), "
                f"{_describe_budget(runs['mnist'])}."
            ),
            Table(
                ["data", "dense net", "convnet", "points gained", "convnet training time"],
                rows,
                numeric=(1, 2, 3, 4),
            ),
            Text(_convnet_gain(runs, dense)),
        ],
        [ctx.train_command(r) for r in runs.values()],
    )


def _convnet_gain(runs: dict[str, Trained], dense: dict[str, Trained]) -> str:
    gains = {
        data: (runs[data].test_accuracy or 0.0) - (dense[data].test_accuracy or 0.0)
        for data in runs
    }
    listed = " and ".join(f"{100 * g:+.2f} points on {data}" for data, g in gains.items())
    text = f"The convnet against the dense net: {listed}, with a twelfth of its parameters."
    if all(g > 0 for g in gains.values()):
        text += (
            " Its filters are shared across positions, so a stroke is recognised wherever "
            "it is, and its pooling tolerates small shifts."
        )
    return text


# --- 5 ---------------------------------------------------------------------------------------


def classic_cnns(ctx: Context) -> SectionOutput:
    budget = ctx.budget
    old = _classic(
        ctx,
        "mnist-cnn",
        "mnist",
        {"training.epochs": budget.mnist_cnn_epochs, "data.limit": budget.slow_limit},
    )
    nielsen = _classic(
        ctx,
        "nielsen",
        "mnist",
        {
            "training.epochs": budget.nielsen_epochs,
            "optim.name": "sgd",
            "optim.lr": 0.03,
            "optim.momentum": 0.9,
            "optim.weight_decay": 1e-4,
            "training.batch_size": 64,
            # Nielsen expands the training set with shifted copies; shifts on the fly here.
            "augment": "light",
        },
    )
    rows = []
    for trained, claim in ((old, 0.9925), (nielsen, 0.9960)):
        measured = trained.test_accuracy or 0.0
        verdict = "yes" if measured >= claim - 0.0005 else f"no ({100 * (measured - claim):+.2f})"
        rows.append(
            [
                trained.config.model.name,
                CLAIMS[trained.config.model.name],
                _pct(measured),
                verdict,
                trained.config.training.epochs,
                _seconds(trained.train_time),
            ]
        )
    return SectionOutput(
        [
            Text(
                "The old Keras `mnist_cnn.py` (Conv32-3, Conv64-3, max pool, dropout 0.25, "
                f"Dense 128, dropout 0.5; Adam here, {_describe_budget(old)}) and Nielsen's "
                "final network (two conv-pool layers, two dense layers with dropout; SGD "
                "with momentum, L2, shifted and rotated copies drawn on the fly for his "
                f"expanded data; {_describe_budget(nielsen)})."
            ),
            Table(
                ["model", "claimed", "measured", "matches?", "epochs", "training time"],
                rows,
                numeric=(2, 4, 5),
            ),
            Text(
                "A claim is matched when the measured test accuracy is within 0.05 points "
                "of it. The claims come from longer training than a quick budget gives; "
                "`--budget full` trains them at their own lengths."
            ),
        ],
        [ctx.train_command(old), ctx.train_command(nielsen)],
    )


# --- 6 ---------------------------------------------------------------------------------------


def tensorboard(ctx: Context) -> SectionOutput:
    from charrec.evaluate.figures import plot_curves

    histories, rows = {}, []
    for folder in sorted(p for p in ctx.runs.iterdir() if (p / "history.json").is_file()):
        import json

        history = json.loads((folder / "history.json").read_text())
        histories[folder.name] = history
        rows.append([folder.name, f"runs/{folder.name}/tensorboard", len(history)])
    path = ctx.out / "figures" / "curves.png"
    plot_curves(histories, path)
    return SectionOutput(
        [
            Text(
                "Every run writes TensorBoard events as it trains (loss, accuracy and "
                "learning rate per epoch and step, weight histograms, misclassified images, "
                "the graph and its hyperparameters). Open them all with "
                f"`charrec tensorboard {ctx.runs}` (then http://127.0.0.1:6006); the "
                f"study's trials with `charrec tensorboard {ctx.out / 'study'}`."
            ),
            Table(["run", "events", "epochs"], rows, numeric=(2,)),
            Figure(path, "Validation accuracy and loss per epoch of every run above"),
        ],
        [f"charrec tensorboard {ctx.runs}"],
    )


# --- 7 ---------------------------------------------------------------------------------------


def study(ctx: Context) -> SectionOutput:
    from charrec.evaluate.report import write_report as write_pages
    from charrec.study.report import build_report
    from charrec.study.session import run_study
    from charrec.study.spec import build_spec

    budget = ctx.budget
    spec = build_spec(
        "coursework-study",
        ctx.letters,
        list(budget.study_factors) or None,
        data_dir=ctx.data_dir,
        folds=budget.study_folds,
        trial_epochs=budget.study_epochs,
        trial_limit=budget.study_limit,
        final_epochs=budget.study_final_epochs,
        final_limit=budget.study_final_limit,
    )
    out = ctx.out / "study"
    outcome = run_study(spec, out, report=lambda line: None, write=False, quiet_workers=True)
    report, finals = build_report(spec, outcome.plan, outcome.results, out)
    write_pages(report, out)  # the study's own report too, beside its trials
    best = finals["cnn"]["final"]
    val = _cross_validated(outcome.plan, "cnn")
    test = best["result"].get("test_accuracy")
    blocks: list[Block] = [
        Text(
            f"An MLP (512-256-128) and a CNN (VGG-style, one conv per stage) on `{ctx.letters}`: "
            f"factors {', '.join(f.name for f in spec.arms[1].factors)}, each scored by "
            f"{budget.study_folds}-fold cross-validation on the training split."
        ),
        Text(
            f"The best CNN scores {_pct(val)} in cross-validation and **{_pct(test)}** on the "
            f"test split: {'at least' if (test or 0) >= 0.90 else 'below'} the 90% the "
            "coursework asks for."
        ),
    ]
    for section in report.sections[1:]:
        blocks.append(Text(f"**{section.title}**"))
        blocks += section.blocks
    mistakes = (best["evaluation"].files or {}).get("mistakes")
    if mistakes:
        blocks.append(Figure(mistakes, "The best CNN's most confident mistakes on the test split"))
    for arm in ("mlp", "cnn"):
        final = finals[arm]["final"]
        ctx.note(
            SummaryRow(
                f"study's best {arm}",
                ctx.letters,
                final["result"].get("test_accuracy"),
                final["result"].get("train_time"),
                final["result"].get("epochs"),
                "≥ 90% asked" if arm == "cnn" else "",
            )
        )
    return SectionOutput(
        blocks,
        [f"charrec study run --spec {out / 'study.yaml'} --out {out}"],
    )


def _cross_validated(plan: Any, arm: str) -> float | None:
    for arm_plan in plan.arms:
        if arm_plan.arm == arm and arm_plan.stages:
            return arm_plan.stages[-1].chosen.score.mean
    return None


# --- 8 ---------------------------------------------------------------------------------------


def case(ctx: Context) -> SectionOutput:
    from charrec.evaluate import evaluate_run

    budget = ctx.budget
    settings = {
        "model.name": "vgg",
        "model.options.depth": 1,
        "optim.name": "adamw",
        "optim.lr": 3e-3,
        "schedule.name": "onecycle",
        "training.epochs": budget.case_epochs,
        "data.limit": budget.case_limit,
        "augment": "light",
    }
    merged = ctx.train(f"vgg-{ctx.letters}", {**settings, "data.name": ctx.letters})
    aware = ctx.train("vgg-letters-case-dev", {**settings, "data.name": "letters-case-dev"})
    merged_eval = evaluate_run(merged.path, data=ctx.letters, split="test")
    aware_eval = evaluate_run(aware.path, data=ctx.letters, split="test")
    own = evaluate_run(aware.path, data="letters-case-dev", split="test")
    case_rows = _case_accuracy(own)
    for trained, what in ((merged, "26 classes"), (aware, "52 classes, cases summed")):
        ctx.note(
            SummaryRow(
                f"vgg, {what}",
                ctx.letters,
                (merged_eval if trained is merged else aware_eval).metrics["accuracy"],
                trained.train_time,
                trained.config.training.epochs,
            )
        )
    return SectionOutput(
        [
            Text(
                "EMNIST Letters merges each letter's cases into one class. A case-aware "
                "design keeps them apart: the same CNN trained on the 52 case-kept letter "
                "classes (`letters-case-dev`), whose answer for a letter is the sum of its "
                "two cases' probabilities, against the case-merged 26-class model, both "
                f"scored on the same held-out `{ctx.letters}` test images."
            ),
            Table(
                ["model", "trained on", "training images", "letter accuracy (case merged)"],
                [
                    [
                        "26 classes",
                        ctx.letters,
                        f"{merged.train_images:,}",
                        _pct(merged_eval.metrics["accuracy"]),
                    ],
                    [
                        "52 classes",
                        "letters-case-dev",
                        f"{aware.train_images:,}",
                        _pct(aware_eval.metrics["accuracy"]),
                    ],
                ],
                numeric=(2, 3),
            ),
            Text(
                "On letters-case-dev's own test split the 52-class model also says the case. "
                "Among the images whose letter it got right, how often the case was right:"
            ),
            Table(["letters", "images", "case right"], case_rows, numeric=(1, 2)),
            Text(
                "Letters whose cases share a shape (c o s u v w x z and the like) cannot be "
                "told apart by case from a lone character; letters with distinct cases can."
            ),
        ],
        [
            ctx.train_command(merged),
            ctx.train_command(aware),
            # The same measurement as a command of its own, with each letter's case score.
            shlex.join(
                [
                    *("charrec", "bench", "case", "--model", f"runs/{aware.name}"),
                    *("--against", f"runs/{merged.name}", "--data", ctx.letters, "--per-letter"),
                ]
            ),
        ],
    )


def _case_accuracy(evaluation: Any) -> list[list[object]]:
    from charrec.evaluate.case import case_accuracy

    scores = case_accuracy(evaluation.probs, evaluation.labels, evaluation.space.columns)
    return [[group.name, group.letter_right, _pct(group.case_accuracy)] for group in scores.groups]


# --- 9 ---------------------------------------------------------------------------------------


def transfer(ctx: Context) -> SectionOutput:
    from charrec.transfer.compare import Plan, candidates, run_comparison

    budget = ctx.budget
    # The source: Chollet's dense net trained on letters (section 3).
    source = _chollet(ctx, ctx.letters)
    strategies = list(budget.transfer_strategies) or None
    from charrec.train.config import TRANSFER_STRATEGIES

    plan = Plan(
        source=str(source.path),
        data="binary-alphadigits-letters",
        out=ctx.out / "transfer",
        candidates=candidates(strategies or list(TRANSFER_STRATEGIES)),
        folds=budget.transfer_folds,
        repeats=budget.transfer_repeats,
        curve=budget.transfer_curve,
        overrides={"training.epochs": budget.transfer_epochs, "data.data_dir": ctx.data_dir},
    )
    results = run_comparison(plan, overwrite=True, say=lambda line: None)
    rows = results["summary"]["candidates"]
    table = [
        [
            name,
            f"{100 * r['mean']:.2f} ± {100 * r['std']:.2f}%",
            r["runs"],
            _seconds(r["train_time_mean"]),
        ]
        for name, r in rows.items()
    ]
    differences = [
        [
            d["candidate"],
            d["against"],
            f"{100 * d['mean']:+.2f}",
            f"{100 * d['corrected_low']:+.2f} to {100 * d['corrected_high']:+.2f}",
        ]
        for d in results["summary"]["differences"]
    ]
    files = {k: Path(v) for k, v in results["files"].items()}
    blocks: list[Block] = [
        Text(
            "Can the dense net trained on letters (section 3) read the 26 capitals of "
            "Binary AlphaDigits (20×16 bitmaps, 39 per class, framed into 28×28 as EMNIST "
            "was)? Each strategy is scored by stratified "
            f"{plan.folds}-fold cross-validation on the same folds: zero-shot (the source "
            "as it is, classes matched by name), a new head on frozen features, added "
            "trainable layers, fine-tuning, and a brand-new model of the same architecture "
            f"trained on Binary AlphaDigits alone (scratch); {budget.transfer_epochs} epochs."
        ),
        Table(
            ["strategy", "accuracy (mean ± std)", "folds", "training time per fold"],
            table,
            numeric=(1, 2, 3),
        ),
        Table(
            ["strategy", "against", "difference (points)", "95% CI (paired, corrected)"],
            differences,
            numeric=(2, 3),
        ),
    ]
    for role, caption in (
        ("accuracy", "Accuracy of each strategy on each held-out fold"),
        ("curve", "Accuracy against training images per class: transfer and scratch"),
        ("confusion", "Confusion matrix of the best transfer strategy, all held-out folds"),
    ):
        if role in files:
            blocks.append(Figure(files[role], caption))
    blocks.append(Text(" ".join(results.get("conclusion") or [])))
    best = results["summary"]["best_transfer"]
    for name in (best, "scratch"):
        if name in rows:
            ctx.note(
                SummaryRow(
                    f"{name} (transfer)" if name != "scratch" else "scratch",
                    "binary-alphadigits-letters, CV",
                    rows[name]["mean"],
                    rows[name]["train_time_mean"],
                    budget.transfer_epochs,
                    "coursework reports: 91% transfer, 88% scratch",
                )
            )
    command = shlex.join(
        [
            "charrec",
            "transfer",
            "--compare",
            "--from",
            str(source.path),
            "--data",
            "binary-alphadigits-letters",
            "--folds",
            str(plan.folds),
            "--strategies",
            ",".join(c.name for c in plan.candidates),
            "--epochs",
            str(budget.transfer_epochs),
            "--curve",
            ",".join(str(n) for n in plan.curve) or "none",
            "--out",
            "transfer",
        ]
    )
    return SectionOutput(blocks, [ctx.train_command(source), command])


# --- 10 --------------------------------------------------------------------------------------


def summary(ctx: Context) -> SectionOutput:
    seen, rows = set(), []
    for row in ctx.summary:
        key = (row.model, row.data)
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            [
                row.model,
                row.data,
                _pct(row.accuracy),
                row.epochs or "—",
                _seconds(row.train_time),
                row.claim,
            ]
        )
    return SectionOutput(
        [
            Text(
                "Test accuracy of every model trained above, with the figures the classic "
                "examples claim for themselves."
            ),
            Table(
                ["model", "data", "test accuracy", "epochs", "training time", "claimed"],
                rows,
                numeric=(2, 3, 4),
            ),
        ]
    )
