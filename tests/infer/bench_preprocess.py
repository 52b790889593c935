"""Time preprocessing end to end, from a file on disk to the 28×28 array.

    .venv/bin/python tests/infer/bench_preprocess.py [--repeat 300]

Two pictures, written by this script: a 128×128 PNG drawing of a letter, and a
1250×800 (1 megapixel) JPEG photo of one (shadowed paper, sensor noise, a little blur,
colour). Prints the median (p50), p90 and fastest time of each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).parent))
from infer_images import find_font, render_pen, render_text

from charrec.infer.preprocess import Preprocessor


def pictures(folder: Path) -> dict[str, Path]:
    font = find_font()
    if font is not None:
        drawing = render_text("K", font, canvas=(128, 128))
        photo = render_text("K", font, canvas=(1250, 800), height=0.6, centre=(0.45, 0.5), ink=50)
    else:
        drawing = render_pen(6, canvas=(128, 128), box=(24, 16, 104, 112))
        photo = render_pen(30, canvas=(1250, 800), box=(400, 150, 800, 650))
    rng = np.random.default_rng(0)
    light = np.linspace(1.0, 0.6, photo.shape[1])[None, :]
    noisy = np.clip(photo * light + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    blurred = Image.fromarray(noisy).filter(ImageFilter.GaussianBlur(1.5))
    tint = [blurred, blurred.point(lambda v: v * 0.95), blurred.point(lambda v: v * 0.9)]
    paths = {"128×128 PNG": folder / "drawing.png", "1 MP JPEG": folder / "photo.jpg"}
    Image.fromarray(drawing).save(paths["128×128 PNG"])
    Image.merge("RGB", tint).save(paths["1 MP JPEG"], quality=90)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    preprocessor = Preprocessor()
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in pictures(Path(tmp)).items():
            for _ in range(10):  # warm up caches and lazy imports
                preprocessor(path)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                preprocessor(path)
                times.append(time.perf_counter() - start)
            p50, p90, fastest = np.percentile(times, [50, 90, 0]) * 1e3
            print(f"{label:12s} p50 {p50:6.2f} ms   p90 {p90:6.2f} ms   min {fastest:6.2f} ms")


if __name__ == "__main__":
    main()
