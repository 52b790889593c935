"""Bad input to `charrec transfer`: one clear line, exit code 2, nothing written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from charrec.infer.pretrained import pretrained_dir

pytestmark = pytest.mark.realdata


def _one_class(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    return ["--data", str(make("A", 6))], "one class"


def _empty_class(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    target = make("AB", 6)
    (target / "C").mkdir()
    return ["--data", str(target)], "no images in class folder(s) C"


def _unreadable_image(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    target = make("AB", 6)
    (target / "B" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    return ["--data", str(target)], "broken.png: cannot read this image"


def _fewer_than_folds(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    return ["--data", str(make("AB", 3)), "--folds", "5", "--fold", "0"], "fewer images"


def _unmatched_input(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    source = tmp / "big-input"
    shutil.copytree(pretrained_dir("letters"), source)
    meta = json.loads((source / "model.json").read_text())
    meta["preprocessing"]["input_size"] = [32, 32]
    (source / "model.json").write_text(json.dumps(meta))
    return ["--from", str(source)], "cannot be matched"


def _unknown_strategy(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    return ["--strategy", "distill"], "unknown transfer strategy 'distill'"


def _unknown_tta(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    return ["--tta", "flip"], "unknown test-time augmentation 'flip'"


def _unknown_source(make: Callable[..., Path], tmp: Path) -> tuple[list[str], str]:
    return ["--from", "no-such-model"], "neither a run folder nor a shipped model"


CASES = {
    "one class": _one_class,
    "empty class": _empty_class,
    "unreadable image": _unreadable_image,
    "fewer images than folds": _fewer_than_folds,
    "unmatched input size": _unmatched_input,
    "unknown strategy": _unknown_strategy,
    "unknown test-time augmentation": _unknown_tta,
    "unknown source": _unknown_source,
}


@pytest.mark.parametrize("compare", [False, True], ids=["run", "compare"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case: str, compare: bool, tmp_path: Path, capsys, run_cli, bad_folder) -> None:
    extra, message = CASES[case](bad_folder, tmp_path)
    if compare:
        # The compare command takes --strategies and its own folds; --fold is a run's.
        extra = ["--strategies" if a == "--strategy" else a for a in extra]
        if "--fold" in extra:
            del extra[extra.index("--fold") : extra.index("--fold") + 2]
    args = ["transfer", "--from", "letters", "--strategy", "finetune"]
    if compare:
        args = ["transfer", "--compare", "--from", "letters", "--curve", "none"]
    out = tmp_path / "out"
    code, stdout, err = run_cli([*args, *extra, "--out", str(out), "--epochs", "1"], capsys)
    assert code == 2, (stdout, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists()
