"""Regenerate the pictures under docs/pictures/: the lecture-style diagrams of LeNet-5, AlexNet,
VGG16 and ResNet18 (.png and .svg), VGG16's receptive field by layer and ResNet18's parameters per
layer. Needs matplotlib (``pip install "cnncalc[plot]"``).

    python docs/make_pictures.py [OUT_DIR]

Big graphs are drawn from a collapsed view: :data:`DEPTHS` gives the depth passed to
``summary.view(depth=...)`` (None: every layer). A function here takes a summary, so a summary
already collapsed (or viewed any other way) is drawn as given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cnncalc
from cnncalc.render.draw import draw, plot
from cnncalc.report import Summary

OUT = Path(__file__).resolve().parent / "pictures"
#: Network -> view depth for its diagram (None: every layer).
DEPTHS: dict[str, int | None] = {"lenet5": None, "alexnet": None, "vgg16": None, "resnet18": 3}


def viewed(summary: Summary, depth: int | None) -> Summary:
    """``summary`` with blocks below ``depth`` collapsed (as given when depth is None)."""
    return summary if depth is None else summary.view(depth=depth)


def diagram(summary: Summary, stem: str, out: Path = OUT) -> list[Path]:
    """``summary`` drawn to ``out/stem.png`` and ``out/stem.svg``; the paths written."""
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    for path in paths:
        draw(summary, path)
    return paths


def main(out: Path = OUT) -> list[Path]:
    """Every picture, written under ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, depth in DEPTHS.items():
        written += diagram(viewed(cnncalc.load(name).summarize(), depth), name, out)
    for name, y in (("vgg16", "rf"), ("resnet18", "params")):
        path = out / f"{name}_{y}.png"
        plot(cnncalc.load(name).summarize(), y, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(p)
