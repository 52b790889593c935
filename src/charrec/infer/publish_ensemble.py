"""What a shipped ensemble's model card adds: its members, how they are weighted, its cost.

An ensemble folder (`charrec ensemble`) publishes like a run folder: its model.json and
model.safetensors hold every member, so the shipped copy needs nothing else. Its own card
(card.json, written when it was built) lists the members with their scores; the shipped
card carries that list, the weighting, the FLOPs per image and the framing of pictures the
members were trained with. An ensemble has no single recipe to retrain it from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charrec.errors import CharrecError
from charrec.fileio import read_json

# The keys of a member's row that the shipped card keeps.
_MEMBER_KEYS = (
    "source",
    "model",
    "parameters",
    "flops_per_image",
    "weight",
    "val_accuracy",
    "test_accuracy",
    "test_data",
)


def is_ensemble(meta: dict[str, Any]) -> bool:
    return (meta.get("model") or {}).get("name") == "ensemble"


def ensemble_facts(folder: Path) -> dict[str, Any]:
    """The card facts of the ensemble folder `folder`, from the card it was built with."""
    path = folder / "card.json"
    if not path.is_file():
        raise CharrecError(
            f"{folder} is an ensemble without its card.json; rebuild it with charrec ensemble"
        )
    card = read_json(path)
    try:
        members = [{key: row.get(key) for key in _MEMBER_KEYS} for row in card["members"]]
        facts = {
            "kind": "ensemble",
            "weighting": card["model"]["weighting"],
            "members": members,
            "flops_per_image": int(card["flops_per_image"]),
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise CharrecError(f"{path} is not an ensemble's card: missing or bad {exc}") from None
    if isinstance(card.get("preprocess"), dict):
        # The framing the members were trained with; the shipped model must keep it.
        facts["preprocess"] = card["preprocess"]
    return facts


def members_markdown(card: dict[str, Any]) -> list[str]:
    """The card's section on the members, for people."""
    from charrec.infer.ensemble import member_row

    lines = [
        "## Members",
        "",
        f"{len(card['members'])} models, their softmax probabilities averaged "
        f"({card['weighting']} weights); {card['flops_per_image'] / 1e6:.2f} MFLOPs per image "
        "in all.",
        "",
        "| member | model | weight | parameters | MFLOPs/image | val accuracy "
        "| own test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [member_row(m) for m in card["members"]]
    return [*lines, ""]
