"""The amodal file of a frame: ``amodal/NNNNNN.json``, and reading it back.

Schema (COCO's compressed RLE, :mod:`ground_truth.codecs.rle`)::

    {
      "frame": int, "width": int, "height": int,
      "instances": [                        # instances with amodal pixels in the image, by id
        {
          "id": int,                        # instance ID (value in instance/NNNNNN.png)
          "amodal_segmentation": {"size": [height, width], "counts": str},
          "amodal_bbox": [x, y, w, h],      # tight box of the amodal pixels
          "amodal_pixels": int,             # amodal pixels inside the image
          "visible_pixels": int,            # its pixels in the instance map
          "visible_fraction": float,        # visible_pixels / amodal_pixels
          "truncation": float               # share of the silhouette outside the image
        }
      ]
    }

The visible mask of an instance is ``instance == id`` of the frame's instance map; it
always lies inside the amodal mask. Meta holds the same numbers for every instance
(also those without amodal pixels in the image).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

import numpy as np

from ..codecs import atomic
from ..codecs.rle import rle_decode
from . import layout, maps

KEY = "amodal"


def frame_document(frame: int, width: int, height: int, instances: Iterable[Mapping]) -> dict:
    """The amodal file's content; ``instances`` are its entries (schema above)."""
    return {
        "frame": int(frame),
        "width": int(width),
        "height": int(height),
        "instances": sorted((dict(i) for i in instances), key=lambda i: i["id"]),
    }


def write_frame(root: str | os.PathLike[str], frame: int, document: Mapping) -> str:
    """Write a frame's amodal file atomically (creating ``amodal/``); returns the path."""
    path = layout.frame_path(root, KEY, frame)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.atomic_write_json(path, document, compact=True)
    return path


def read_frame(root: str | os.PathLike[str], frame: int) -> dict | None:
    """The frame's amodal file as a dict; None when it was not written."""
    path = layout.frame_path(root, KEY, frame)
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        return None


def masks(document: Mapping) -> dict[int, np.ndarray]:
    """``{instance ID: HxW bool amodal mask}`` of an amodal file's content.

    Raises ValueError when a mask's size is not the document's ``[height, width]`` (a
    damaged file must not make a mask of another shape, or a huge one)."""
    if not isinstance(document, Mapping):
        raise ValueError("not a JSON object")
    size = [int(document["height"]), int(document["width"])]
    if not (0 < size[0] <= 65535 and 0 < size[1] <= 65535):
        raise ValueError(f"image size {size} out of range")
    result = {}
    for entry in document.get("instances", []):
        rle = entry["amodal_segmentation"]
        if [int(v) for v in rle["size"]] != size:
            raise ValueError(f"mask of instance {entry['id']} has size {rle['size']}, not {size}")
        result[int(entry["id"])] = rle_decode(rle)
    return result


def frame_masks(root: str | os.PathLike[str], frame: int) -> dict[int, dict] | None:
    """Each instance's amodal and visible masks and counts for one frame, for exporters.

    ``{id: {"amodal": HxW bool, "visible": HxW bool, "amodal_pixels", "visible_pixels",
    "visible_fraction", "truncation"}}`` for every instance with amodal pixels in the
    image, from ``amodal/NNNNNN.json`` and ``instance/NNNNNN.png``; None when the frame
    has no amodal file.
    """
    document = read_frame(root, frame)
    if document is None:
        return None
    instance_map = maps.frame_instance_map(root, frame)
    if instance_map is None:
        raise ValueError(f"frame {frame} has an amodal file but no instance map")
    amodal = masks(document)
    result = {}
    for entry in document["instances"]:
        ident = int(entry["id"])
        result[ident] = {
            "amodal": amodal[ident],
            "visible": instance_map == ident,
            **{
                key: entry[key]
                for key in ("amodal_pixels", "visible_pixels", "visible_fraction", "truncation")
            },
        }
    return result
