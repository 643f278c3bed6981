"""KITTI object detection: 2D and 3D boxes per image, and a calibration file per image.

Layout (KITTI's object benchmark)::

    training/image_2/000000.png     the RGB images, numbered consecutively from 000000
    training/label_2/000000.txt     one line per visible thing
    training/calib/000000.txt       P0-P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo
    ImageSets/train.txt, val.txt    image indices of each split (and trainval.txt)

``ground-truth-export.json`` maps every index to its frame number.

Label lines: ``type truncated occluded alpha left top right bottom height width length
x y z rotation_y``:

- ``type``: the class name with spaces as underscores (KITTI types are one word);
- ``truncated``: 0..1, see :mod:`.common`; ``occluded``: 0 fully visible, 1 partly
  occluded, 2 largely occluded, 3 unknown (no visible fraction in the meta);
- ``left top right bottom``: the pixel-edge box of the instance's pixels,
  ``x, y, x + w, y + h``;
- the 3D box in the camera frame, which is the OpenCV frame of the meta (x right, y
  down, z forward, metres), as KITTI's camera frame: the object's local axis most
  aligned with the camera's up direction (-y) is its height axis; of the other two,
  the first in local order (x, then y, then z) is its length axis and the last its
  width axis; ``height width length`` are the box's extents along them (scale
  included); ``x y z`` is the centre of the box's bottom face as KITTI defines it:
  box centre + height / 2 along +y; ``rotation_y`` is the heading of the length axis
  about the camera's y axis (0 = pointing along +x, KITTI's convention:
  ``atan2(-dz, dx)``), in [-pi, pi]; ``alpha`` = rotation_y - atan2(x, z) of the box
  centre, wrapped to [-pi, pi] (ortho cameras: = rotation_y).

KITTI boxes only turn about the camera's y axis. When the camera is tilted (the demo
camera looks 15 degrees down) an upright object's box is tilted in the camera frame, and
the KITTI box is the closest yaw-only box: same centre height axis extents and heading,
not the same corners. Calibration: ``P2 = K [I | 0]`` (``P0``-``P3`` alike, one camera;
orthographic cameras get the affine ``[[fx, 0, 0, cx], [0, fy, 0, cy], [0, 0, 0, 1]]``),
``R0_rect`` the identity, ``Tr_velo_to_cam`` the axis change from a lidar-like frame at
the camera (x forward, y left, z up) to the camera frame, ``Tr_imu_to_velo`` the identity.
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import common

_VELO_TO_CAM = np.array([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


def kitti_type(name: str) -> str:
    """A class name as one KITTI type token: whitespace runs become ``_``."""
    return "_".join(name.split()) or "_"


def _wrap(angle: float) -> float:
    """``angle`` wrapped to [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def kitti_box(corners_camera_cv: np.ndarray, ortho: bool = False) -> dict[str, float]:
    """KITTI's 3D box parameters of a box given by its 8 corners in the camera frame.

    Corners in Blender's ``bound_box`` order (corner 4 - corner 0 is the local x
    extent, 3 - 0 local y, 1 - 0 local z). Returns ``h, w, l, x, y, z, rotation_y,
    alpha`` (see the module docstring).
    """
    corners = np.asarray(corners_camera_cv, dtype=np.float64).reshape(8, 3)
    axes = np.stack([corners[4] - corners[0], corners[3] - corners[0], corners[1] - corners[0]])
    lengths = np.linalg.norm(axes, axis=1)
    up = np.array([0.0, -1.0, 0.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        alignment = np.abs(axes @ up) / np.where(lengths > 0, lengths, 1.0)
    height_axis = int(np.argmax(np.where(lengths > 0, alignment, -1.0)))
    others = [a for a in range(3) if a != height_axis]
    length_axis, width_axis = others[0], others[1]
    centre = corners.mean(axis=0)
    h, w, l_ = (float(lengths[a]) for a in (height_axis, width_axis, length_axis))
    dx, dz = float(axes[length_axis, 0]), float(axes[length_axis, 2])
    rotation_y = _wrap(math.atan2(-dz, dx)) if (dx or dz) else 0.0
    x, y, z = float(centre[0]), float(centre[1] + h / 2.0), float(centre[2])
    theta = 0.0 if ortho else math.atan2(float(centre[0]), float(centre[2]))
    return {
        "h": h,
        "w": w,
        "l": l_,
        "x": x,
        "y": y,
        "z": z,
        "rotation_y": rotation_y,
        "alpha": _wrap(rotation_y - theta),
    }


def label_line(
    type_name: str, truncated: float, occluded: int, bbox: list[int], box: dict[str, float]
) -> str:
    """One KITTI label line (2 decimals for truncation and the 2D box, 4 for the rest)."""
    x, y, w, h = bbox
    return (
        f"{type_name} {truncated:.2f} {occluded:d} {box['alpha']:.4f} "
        f"{x:.2f} {y:.2f} {x + w:.2f} {y + h:.2f} "
        f"{box['h']:.4f} {box['w']:.4f} {box['l']:.4f} "
        f"{box['x']:.4f} {box['y']:.4f} {box['z']:.4f} {box['rotation_y']:.4f}"
    )


def projection_matrix(k_matrix, ortho: bool = False) -> np.ndarray:
    """KITTI's 3x4 ``P`` from the 3x3 ``K``: ``K [I | 0]``, or the affine ortho form."""
    k = np.asarray(k_matrix, dtype=np.float64)
    if ortho:
        return np.array(
            [[k[0, 0], k[0, 1], 0.0, k[0, 2]], [k[1, 0], k[1, 1], 0.0, k[1, 2]], [0, 0, 0, 1.0]]
        )
    return np.concatenate([k, np.zeros((3, 1))], axis=1)


def calib_text(k_matrix, ortho: bool = False) -> str:
    """The calibration file of one image (see the module docstring)."""

    def row(values) -> str:
        return " ".join(f"{float(v):.12e}" for v in np.asarray(values).ravel())

    p = projection_matrix(k_matrix, ortho)
    lines = [f"P{i}: {row(p)}" for i in range(4)]
    lines.append(f"R0_rect: {row(np.eye(3))}")
    lines.append(f"Tr_velo_to_cam: {row(_VELO_TO_CAM)}")
    lines.append(f"Tr_imu_to_velo: {row(np.eye(4)[:3])}")
    return "\n".join(lines) + "\n"


def write(source: common.Source, folder: str, plans, options, report) -> dict:
    """Write the ``kitti`` export into ``folder`` (see the module docstring)."""
    for sub in ("image_2", "label_2", "calib"):
        os.makedirs(os.path.join(folder, "training", sub))
    os.makedirs(os.path.join(folder, "ImageSets"))
    names: dict[str, list[str]] = {split: [] for split in common.SPLITS}
    warned = False
    for plan in plans:
        frame_meta = source.meta(plan.frame)
        ortho = frame_meta["camera"].get("type") == "ORTHO"
        lines = []
        for obj in source.objects(frame_meta):
            if obj["class"].stuff:
                continue
            fraction = obj.get("visible_fraction")
            if fraction is None and not warned:
                report.warnings.append(
                    "meta has no visible_fraction: KITTI occlusion is 3 (unknown); "
                    "render with --visible-fraction"
                )
                warned = True
            lines.append(
                label_line(
                    kitti_type(obj["class"].name),
                    common.truncation(obj, frame_meta),
                    common.occlusion_level(fraction),
                    obj["bbox"],
                    kitti_box(obj["box3d_camera_cv"], ortho),
                )
            )
        report.labels += len(lines)
        training = os.path.join(folder, "training")
        common.write_text(
            os.path.join(training, "label_2", plan.name + ".txt"),
            "".join(line + "\n" for line in lines),
        )
        common.write_text(
            os.path.join(training, "calib", plan.name + ".txt"),
            calib_text(frame_meta["camera"]["K"], ortho),
        )
        image = source.image_path(plan.frame)
        common.place_image(
            image,
            os.path.join(training, "image_2", plan.name + os.path.splitext(image)[1]),
            options["link_images"],
        )
        names[plan.split].append(plan.name)
    lists = {**names, "trainval": names["train"] + names["val"]}
    for split, items in lists.items():
        common.write_text(
            os.path.join(folder, "ImageSets", f"{split}.txt"), "".join(f"{n}\n" for n in items)
        )
    return {c.id: {"kitti_type": kitti_type(c.name)} for c in source.things}
