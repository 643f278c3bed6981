"""Helpers shared by the export tests (fixtures live in conftest.py)."""

import argparse
import json
import os
import sys

import numpy as np

FORMATS = ("yolo", "yolo-seg", "coco-panoptic", "voc", "kitti", "mot")


class UsageError(Exception):
    """What the command-line parser raises on bad arguments (the caller exits 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def run_cli(argv: list[str]) -> int:
    """Run a dataset command as ``python -m ground_truth`` will: 2 on a usage error."""
    from ground_truth.commands import dataset_commands

    parser = _Parser(prog="ground_truth")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in ("export", "check", "stats"):
        getattr(dataset_commands, f"add_{name}_parser")(commands)
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"ground_truth: error: {error}", file=sys.stderr)
        return 2
    return getattr(dataset_commands, f"run_{args.command}")(args)


def load_json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def frame_truth(dataset: str, frame: int):
    """A frame's meta and instance map, read with the dataset reader."""
    from ground_truth.dataset.reader import load_frame

    sample = load_frame(dataset, frame)
    return sample["meta"], sample["instance"]


def visible_things(dataset: str, frame_meta: dict) -> list[dict]:
    """The meta's visible instances of thing classes (the object formats' content)."""
    data = load_json(os.path.join(dataset, "dataset.json"))
    stuff = {c["id"] for c in data["classes"] if c.get("stuff")}
    known = {c["id"] for c in data["classes"]}
    return [
        i
        for i in frame_meta["instances"]
        if i["visible_pixels"] and i["class_id"] in known and i["class_id"] not in stuff
    ]


def boundary_band(mask: np.ndarray) -> np.ndarray:
    """Pixels within one pixel (8-neighbourhood) of the mask's boundary, both sides."""
    padded = np.pad(mask, 1, mode="edge")
    grown = np.zeros_like(mask)
    shrunk = np.ones_like(mask)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            window = padded[1 + dy : 1 + dy + mask.shape[0], 1 + dx : 1 + dx + mask.shape[1]]
            grown |= window
            shrunk &= window
    return grown & ~shrunk
