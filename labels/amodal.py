"""Amodal masks: the whole silhouette of each instance, hidden parts included (numpy only).

An instance's **amodal mask** holds every pixel whose first-sample camera ray (the ray
its instance-map pixel comes from) hits the instance's own geometry between the clip
planes, as if nothing else were in the scene: the silhouette of its triangles,
rasterised exactly at the first-sample positions (:mod:`ground_truth.geometry.raster`),
united with its pixels in the instance map. The union changes nothing where the two
agree, which is everywhere except where an edge passes within about 1e-4 px of a
sample (Cycles' rays are single precision): there it keeps the render's word, so that
the visible mask always lies inside the amodal mask and a fully visible instance's
visible fraction is exactly 1.

Per instance, from the same silhouette:

- ``amodal_pixels``: amodal pixels inside the image; ``amodal_bbox`` their tight box;
- ``visible_pixels`` and ``bbox``: its pixels in the instance map and their box;
- ``visible_fraction`` = visible / amodal pixels inside the image (0 when none);
- ``truncation``: the share of the silhouette that falls outside the image, counted on
  the pixel lattice extended past the border (None without any silhouette).

The geometry comes from the main thread as plain arrays (:class:`SceneGeometry`): each
mesh once, in its own frame, and where it is placed (the parts of each labelled
instance, and every copy drawn by an instancer). Everything here runs on the writer
thread.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..codecs.rle import counts_to_string
from ..geometry import raster
from ..geometry.transforms import transform_points
from .masks import bbox_from_mask


@dataclass(frozen=True)
class Mesh:
    """Triangles of one evaluated geometry in its own frame: float32 Nx3 vertices and
    int32 Mx3 vertex indices."""

    vertices: np.ndarray
    triangles: np.ndarray


@dataclass(frozen=True)
class Placement:
    """A mesh (its key in :attr:`SceneGeometry.meshes`) placed by a 4x4 world matrix."""

    mesh: Hashable
    matrix: np.ndarray


@dataclass(frozen=True)
class CopyPlacement:
    """A copy drawn by an instancer: its key (``scene.copies.copy_key``: instancer,
    persistent ID, source object, particle system), the pass index Cycles gives its
    pixels, and its geometry."""

    instance: tuple
    carried: int
    placement: Placement


@dataclass(frozen=True)
class SceneGeometry:
    """What the main thread hands over for a frame's amodal masks (plain values).

    ``instances`` maps each labelled instance ID to its rendered parts, ``copies`` lists
    the copies of labelled objects; ``sample_offset`` is
    :func:`~ground_truth.geometry.raster.first_sample_offset` of the scene's filter.
    """

    meshes: Mapping[Hashable, Mesh]
    instances: Mapping[int, tuple[Placement, ...]]
    copies: tuple[CopyPlacement, ...] = ()
    sample_offset: float = 0.0


def placements_by_id(
    geometry: SceneGeometry, copy_ids: Mapping[tuple, int] | None = None
) -> dict[int, list[Placement]]:
    """The geometry of every instance ID: its own parts and the copies that show it.

    ``copy_ids`` maps a copy's key to the instance ID its pixels get. A copy without
    one (Distinct Copies off) belongs to the ID its pixels carry, when that is a
    labelled instance.
    """
    copy_ids = copy_ids or {}
    groups = {ident: list(parts) for ident, parts in geometry.instances.items()}
    for copy in geometry.copies:
        ident = copy_ids.get(copy.instance)
        if ident is None:
            if copy.carried not in geometry.instances:
                continue
            ident = copy.carried
        groups.setdefault(ident, []).append(copy.placement)
    return groups


def instance_triangles(
    placements: Iterable[Placement], meshes: Mapping[Hashable, Mesh], camera_block: Mapping
) -> np.ndarray:
    """Image-space triangles (Tx3x2) of placed meshes seen by the frame's camera."""
    w2c = np.asarray(camera_block["world_to_camera_cv"], dtype=np.float64)
    pieces = []
    for placement in placements:
        mesh = meshes[placement.mesh]
        if not len(mesh.triangles):
            continue
        to_camera = w2c @ np.asarray(placement.matrix, dtype=np.float64)
        pieces.append(
            raster.camera_triangles(
                transform_points(to_camera, mesh.vertices),
                mesh.triangles,
                np.asarray(camera_block["K"], dtype=np.float64),
                ortho=camera_block["type"] == "ORTHO",
                clip_start=float(camera_block["clip_start"]),
                clip_end=float(camera_block["clip_end"]),
            )
        )
    return np.concatenate(pieces) if pieces else np.zeros((0, 3, 2))


@dataclass(frozen=True)
class AmodalInstance:
    """One instance's amodal mask in the image and its numbers.

    ``window`` (``(row0, row1, col0, col1)``, half-open) bounds the amodal pixels and
    ``mask`` holds them there (``None`` and an empty mask without any); ``outside``
    counts the silhouette's pixels beyond the image border.
    """

    id: int
    window: tuple[int, int, int, int] | None
    mask: np.ndarray = field(repr=False)
    amodal_pixels: int
    visible_pixels: int
    bbox: list[int] | None
    amodal_bbox: list[int] | None
    outside: float

    @property
    def visible_fraction(self) -> float:
        """Visible pixels / amodal pixels inside the image (0 when there are none)."""
        if not self.visible_pixels:
            return 0.0
        return round(self.visible_pixels / self.amodal_pixels, 6)

    @property
    def truncation(self) -> float | None:
        """The share of the silhouette outside the image; None without a silhouette."""
        total = self.amodal_pixels + self.outside
        if total <= 0:
            return None
        return round(self.outside / total, 6)


def _union_window(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def amodal_instance(
    ident: int,
    silhouette: raster.Silhouette,
    instance_map: np.ndarray,
    visible: tuple[list[int], int] | None,
) -> AmodalInstance:
    """Unite a silhouette with the instance's visible pixels (``(bbox, pixels)`` of
    :func:`~.masks.bboxes_from_instance_map`, or None when it has none)."""
    bbox, visible_pixels = visible if visible is not None else (None, 0)
    box_window = None
    if bbox is not None:
        x, y, w, h = bbox
        box_window = (y, y + h, x, x + w)
    window = _union_window(silhouette.window, box_window)
    if window is None:
        empty = np.zeros((0, 0), dtype=bool)
        return AmodalInstance(int(ident), None, empty, 0, 0, None, None, silhouette.outside)
    r0, r1, c0, c1 = window
    mask = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    if silhouette.window is not None:
        s0, s1, t0, t1 = silhouette.window
        mask[s0 - r0 : s1 - r0, t0 - c0 : t1 - c0] = silhouette.mask
    if box_window is not None:
        b0, b1, d0, d1 = box_window
        mask[b0 - r0 : b1 - r0, d0 - c0 : d1 - c0] |= instance_map[b0:b1, d0:d1] == ident
    amodal_bbox = bbox_from_mask(mask)
    if amodal_bbox is None:
        empty = np.zeros((0, 0), dtype=bool)
        return AmodalInstance(int(ident), None, empty, 0, 0, None, None, silhouette.outside)
    x, y, w, h = amodal_bbox
    tight = mask[y : y + h, x : x + w]
    return AmodalInstance(
        id=int(ident),
        window=(r0 + y, r0 + y + h, c0 + x, c0 + x + w),
        mask=tight,
        amodal_pixels=int(tight.sum()),
        visible_pixels=int(visible_pixels),
        bbox=bbox,
        amodal_bbox=[c0 + x, r0 + y, w, h],
        outside=silhouette.outside,
    )


def frame_amodal(
    geometry: SceneGeometry,
    camera_block: Mapping,
    instance_map: np.ndarray,
    visible: Mapping[int, tuple[list[int], int]],
    copy_ids: Mapping[tuple, int] | None = None,
) -> dict[int, AmodalInstance]:
    """``{instance ID: AmodalInstance}`` of every instance (and copy) of a frame.

    ``instance_map`` is the frame's instance map (copies with their own IDs) and
    ``visible`` its :func:`~.masks.bboxes_from_instance_map`; ``copy_ids`` as for
    :func:`placements_by_id`. IDs are ascending.
    """
    shape = np.asarray(instance_map).shape
    groups = placements_by_id(geometry, copy_ids)
    result = {}
    for ident in sorted(set(groups) | set(visible)):
        triangles = instance_triangles(groups.get(ident, ()), geometry.meshes, camera_block)
        outline = raster.silhouette(triangles, shape, geometry.sample_offset)
        result[ident] = amodal_instance(ident, outline, instance_map, visible.get(ident))
    return result


def meta_fields(
    results: Mapping[int, AmodalInstance], ids: Iterable[int], amodal: bool
) -> dict[int, dict]:
    """``{id: fields}`` that each meta entry of ``ids`` gets: ``visible_fraction``, and
    with ``amodal`` also ``amodal_pixels``, ``amodal_bbox`` and ``truncation``."""
    fields = {}
    for ident in ids:
        found = results.get(int(ident))
        entry = {"visible_fraction": found.visible_fraction if found else 0.0}
        if amodal:
            entry["amodal_pixels"] = found.amodal_pixels if found else 0
            entry["amodal_bbox"] = found.amodal_bbox if found else None
            entry["truncation"] = found.truncation if found else None
        fields[int(ident)] = entry
    return fields


def file_entries(results: Mapping[int, AmodalInstance], shape: tuple[int, int]) -> list[dict]:
    """The entries of the frame's amodal file: every instance with amodal pixels in the
    image (schema in :mod:`ground_truth.dataset.amodal`)."""
    return [
        {
            "id": instance.id,
            "amodal_segmentation": mask_rle(instance, shape),
            "amodal_bbox": instance.amodal_bbox,
            "amodal_pixels": instance.amodal_pixels,
            "visible_pixels": instance.visible_pixels,
            "visible_fraction": instance.visible_fraction,
            "truncation": instance.truncation,
        }
        for instance in results.values()
        if instance.amodal_pixels
    ]


def full_mask(instance: AmodalInstance, shape: tuple[int, int]) -> np.ndarray:
    """The instance's amodal mask as an image-sized bool array."""
    mask = np.zeros((int(shape[0]), int(shape[1])), dtype=bool)
    if instance.window is not None:
        r0, r1, c0, c1 = instance.window
        mask[r0:r1, c0:c1] = instance.mask
    return mask


def mask_rle(instance: AmodalInstance, shape: tuple[int, int]) -> dict:
    """The amodal mask as COCO compressed RLE ``{"size": [h, w], "counts": str}``.

    Equal to :func:`ground_truth.codecs.rle.rle_encode` of :func:`full_mask`, built
    from the mask's own window: its columns are scanned one by one (COCO's column-major
    order), padded by a false pixel at each end so that no run crosses a column, then
    runs that meet across a column of the full image are joined.
    """
    height, width = int(shape[0]), int(shape[1])
    total = height * width
    if instance.window is None:
        return {"size": [height, width], "counts": counts_to_string([total])}
    r0, r1, c0, c1 = instance.window
    rows = r1 - r0
    padded = np.zeros((c1 - c0, rows + 2), dtype=np.int8)
    padded[:, 1:-1] = instance.mask.T
    change = np.diff(padded.reshape(-1))
    starts = np.flatnonzero(change == 1) + 1
    lengths = np.flatnonzero(change == -1) + 1 - starts
    column = starts // (rows + 2)
    begin = (c0 + column) * height + r0 + (starts - column * (rows + 2) - 1)
    if begin.size > 1:
        new_run = np.r_[True, begin[1:] != begin[:-1] + lengths[:-1]]
        group = np.cumsum(new_run) - 1
        begin = begin[new_run]
        lengths = np.bincount(group, weights=lengths).astype(np.int64)
    end = begin + lengths
    counts = np.empty(2 * begin.size, dtype=np.int64)
    counts[0::2] = begin - np.r_[0, end[:-1]]
    counts[1::2] = lengths
    if end[-1] < total:
        counts = np.r_[counts, total - end[-1]]
    return {"size": [height, width], "counts": counts_to_string(counts)}
