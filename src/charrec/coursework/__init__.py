"""The whole classic coursework as one run and one report, built from charrec's stages.

    charrec coursework --out report/                # quick budget (about 20 minutes here)
    charrec coursework --out report/ --budget full  # the experiments at their real lengths

Modules, one job each: budget (how long each part trains), context (the folder, data and
one way to train, reused by config), sections (the questions, in order), runner (sections
with reuse and timings), report (the Markdown and HTML document). It trains through
charrec.train, evaluates through charrec.evaluate, studies through charrec.study and
transfers through charrec.transfer, adding no training or evaluation logic of its own.
"""

from __future__ import annotations

from charrec.coursework import sections as _s
from charrec.coursework.sections import SectionSpec

SECTIONS: list[SectionSpec] = [
    SectionSpec(
        "mnist-dense", "1. What accuracy does Chollet's dense net reach on MNIST?", _s.mnist_dense
    ),
    SectionSpec(
        "letters-grid", "2. Do the EMNIST Letters images and labels agree, by eye?", _s.letters_grid
    ),
    SectionSpec("letters-dense", "3. How does the same dense net do on letters?", _s.letters_dense),
    SectionSpec(
        "convnet", "4. How much does the Keras convnet gain over the dense net?", _s.convnet
    ),
    SectionSpec(
        "classic-cnns",
        "5. Do the old Keras mnist_cnn (99.25%) and Nielsen's network (99.60%) match their claims?",
        _s.classic_cnns,
    ),
    SectionSpec(
        "tensorboard", "6. Where are the training curves, and what do they show?", _s.tensorboard
    ),
    SectionSpec(
        "study",
        "7. Which techniques help an MLP and a CNN on letters, and does the best reach 90%?",
        _s.study,
    ),
    SectionSpec("case", "8. Does a case-aware design (52 classes) read letters better?", _s.case),
    SectionSpec(
        "transfer",
        "9. Does a letters model transfer to Binary AlphaDigits better than a new model?",
        _s.transfer,
    ),
    SectionSpec(
        "summary", "10. Every model on every data set, against the classic claims", _s.summary
    ),
]

__all__ = ["SECTIONS", "SectionSpec"]
