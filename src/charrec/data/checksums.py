"""Known sha256 of official data files (the .gz as distributed), for verification."""

from __future__ import annotations

import hashlib
from pathlib import Path

KNOWN_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
    "binaryalphadigs.mat": ("3ee9392e64e4e3bb7b35502b69bf2555a0b4197c1b31048c4189b84bc0bc6ea7"),
    "emnist-byclass-test-images-idx3-ubyte.gz": (
        "5ec835bd5d5b1a66378a132e727fef20fe994b3cc666899befcca5ac766f50cd"
    ),
    "emnist-byclass-test-labels-idx1-ubyte.gz": (
        "501e305eeeacb093b162592d80e8a2632040872360fa6d85cfcb2200d91ca92a"
    ),
    "emnist-bymerge-test-images-idx3-ubyte.gz": (
        "5e5815ec1b522089134435f7c55e75a00960b58414793593ffff23efc0821683"
    ),
    "emnist-bymerge-test-labels-idx1-ubyte.gz": (
        "8bda1516255683ba9071e141947ca0c91a911176065cdd6259b0b4d8dc5b5f35"
    ),
    "emnist-letters-train-labels-idx1-ubyte.gz": (
        "9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c"
    ),
    "emnist-letters-test-labels-idx1-ubyte.gz": (
        "924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb"
    ),
    "emnist-letters-train-images-idx3-ubyte.gz": (
        "6288f418a917e007bf5fddb823a2dc7a5c6a35031401b93292a539cb12bd881f"
    ),
    "emnist-letters-test-images-idx3-ubyte.gz": (
        "50f0e93d75b99b463e9760b8345866f22587fa2c2fba472730a5ba09c693412d"
    ),
}


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
