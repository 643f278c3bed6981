"""Instance IDs for the copies instancers draw, and their pixels (bpy-free).

Collection instances, particles and geometry-nodes instances draw many copies of one
object, and Cycles' Object Index pass gives all of them one pass index (the source's,
or for geometry-nodes copies the instancer's). Two things turn that into one instance
ID per copy, with no extra render pass:

**Which ID** (:class:`CopyTable`). A copy's ID depends on the copy alone: its
instancer and its place in the instancer's output (Blender's persistent ID and the
object it draws), never on the frames or the process that saw it first. Each instancer
owns a block of IDs, the blocks in the order of the instancers' names after the
labelled objects' IDs:

- a particle system's block has a slot for every particle it can make (its count,
  with the children of each made for renders) times the objects it draws per particle,
  so a copy's slot is its particle index (persistent ID) and object;
- any other instancer's block lists the copies it draws at the scene's first frame,
  sorted; a copy it draws at another frame and not there has no ID, which
  :meth:`CopyTable.id_of` says (the instancing changed over the frames).

**Which pixels** (:func:`assign_copy_ids`). Every pixel holds the depth and the pass
index of the surface its first sample hit. The copies' own triangles are rasterised at
those very samples (:func:`ground_truth.geometry.raster.depth_fragments`); of the
geometry that carries the pixel's pass index (the copies, and the labelled object's
own parts), the one whose depth there equals the rendered depth is what the pixel
shows. So copies whose source has no material, several, linked or alpha-clipped ones
are told apart alike, and a pixel where a clipped leaf lets the render see the copy
behind it goes to that copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import GroundTruthError
from ..geometry import raster
from .amodal import CopyPlacement, SceneGeometry
from .ids import MAX_ID

# A copy's key: (instancer name, persistent ID, source object name, particle system).
CopyKey = tuple

# Depth agreement that makes a surface the one a pixel shows: relative to the depth.
# Cycles' depth and the triangles' planes agree to about 1e-6 of the depth; a copy's
# surface within this much of another at the same pixel is told apart by the nearer.
STRICT_TOLERANCE = 2e-3
# Where the render's geometry differs slightly from the evaluated mesh (render levels
# of a Subdivision Surface), the nearest geometry carrying the pixel's pass index still
# decides, up to this share of the depth.
LOOSE_TOLERANCE = 0.05
# Triangles rasterised at once (bounds the memory of scenes with many copies).
TRIANGLES_PER_PASS = 1 << 17


class TooManyInstancesError(GroundTruthError):
    """More instance IDs than the instance map can hold."""


class CopyOutsideTableError(GroundTruthError):
    """A copy that the table made at the reference frame has no slot for."""


@dataclass(frozen=True)
class Instancer:
    """One instancer's block of copy IDs, as the table is planned.

    ``name`` is the instancer's key (its object's ``name_full``, and for particles the
    particle system's name after a slash). A particle system has ``particles`` slots per
    object it draws (``objects``: source object names in slot order); any other
    instancer lists its copies (``listed``: sorted copy keys without the instancer).
    """

    name: str
    particles: int = 0
    objects: tuple[str, ...] = ()
    listed: tuple[tuple, ...] = ()

    @property
    def size(self) -> int:
        """The number of IDs of the block."""
        if self.particles:
            return self.particles * max(1, len(self.objects))
        return len(self.listed)


def instancer_name(key: CopyKey) -> str:
    """The block a copy key belongs to: its instancer, and particle system if any."""
    return f"{key[0]}/{key[3]}" if key[3] else key[0]


def _listed_entry(key: CopyKey) -> tuple:
    return (tuple(key[1]), key[2])


class CopyTable:
    """Instance IDs for copies, fixed by the scene (see the module docstring).

    ``first_id`` is the first ID after the labelled objects'; ``limit`` the largest ID
    the instance map holds. Raises :class:`TooManyInstancesError` naming the largest
    blocks when they do not fit.
    """

    def __init__(self, first_id: int, instancers: Iterable[Instancer], limit: int = MAX_ID):
        self.first_id = int(first_id)
        self.limit = int(limit)
        self.blocks: dict[str, tuple[int, Instancer, dict]] = {}
        base = self.first_id
        for item in sorted(instancers, key=lambda i: i.name):
            ranks = {entry: rank for rank, entry in enumerate(item.listed)}
            self.blocks[item.name] = (base, item, ranks)
            base += item.size
        self.last_id = base - 1
        if self.last_id > self.limit:
            largest = sorted(self.blocks.values(), key=lambda b: -b[1].size)[:3]
            shown = ", ".join(f"{b[1].name} ({b[1].size})" for b in largest)
            raise TooManyInstancesError(
                f"The copies need instance IDs up to {self.last_id}, more than the "
                f"instance map holds ({self.limit}); the most are drawn by {shown}. Let "
                "their copies share their source's ID (Copies Share ID on the class or the "
                "instancer, --share-copies NAME), or write the 32-bit instance map instead "
                "of the 16-bit one (tick 32-bit Instance Map and untick Instance; "
                "--instance32 --no-instance)"
            )

    def id_of(self, key: CopyKey) -> int:
        """The instance ID of the copy ``key``.

        Raises :class:`CopyOutsideTableError` for a copy the table has no slot for.
        """
        name = instancer_name(key)
        block = self.blocks.get(name)
        if block is not None:
            base, item, ranks = block
            if item.particles:
                index = int(key[1][0]) if len(key[1]) else -1
                try:
                    position = item.objects.index(key[2]) if item.objects else 0
                except ValueError:
                    position = -1
                if 0 <= index < item.particles and position >= 0:
                    return base + index * max(1, len(item.objects)) + position
            else:
                rank = ranks.get(_listed_entry(key))
                if rank is not None:
                    return base + rank
        raise CopyOutsideTableError(
            f"{name} draws a copy of {key[2]} (persistent ID {list(key[1])}) that it does "
            "not draw at the scene's first frame, where Ground Truth numbers copies: its "
            "instancing changes over the frames. Let its copies share their source's ID "
            "(Copies Share ID), or make the first frame draw every copy"
        )

    def describe(self) -> list[dict]:
        """The blocks as ``dataset.json`` lists them: instancer, first ID, size."""
        return [
            {"instancer": item.name, "first_id": base, "size": item.size}
            for base, item, _ranks in self.blocks.values()
        ]


def listed_instancer(name: str, keys: Iterable[CopyKey]) -> Instancer:
    """The block of an instancer that lists the copies ``keys`` it draws."""
    return Instancer(name, listed=tuple(sorted({_listed_entry(k) for k in keys})))


# --------------------------------------------------------------------- the pixels


def _in_view(corners: np.ndarray, camera: Mapping, area: np.ndarray) -> np.ndarray:
    """Which of C boxes (C x 8 x 3 camera-frame corners) can show on an allowed pixel:
    some part within the clip range, and an allowed pixel in its projected rectangle
    (``area``: the summed-area table of the allowed pixels, (H+1) x (W+1))."""
    near, far = float(camera["clip_start"]), float(camera["clip_end"])
    z = corners[..., 2]
    keep = (z.max(axis=1) >= near) & (z.min(axis=1) <= far)
    height, width = area.shape[0] - 1, area.shape[1] - 1
    k = np.asarray(camera["K"], dtype=np.float64)
    if camera["type"] == "ORTHO":
        uv = corners[..., :2] @ k[:2, :2].T + k[:2, 2]
        whole = np.zeros(len(corners), dtype=bool)
    else:
        # A box reaching behind the near plane may cover any pixel.
        whole = z.min(axis=1) < near
        depth = np.maximum(z, near)[..., None]
        uv = (corners[..., :2] / depth) @ k[:2, :2].T + k[:2, 2]
    c0 = np.clip(np.floor(uv[..., 0].min(axis=1)) - 1, 0, width).astype(np.int64)
    c1 = np.clip(np.ceil(uv[..., 0].max(axis=1)) + 1, 0, width).astype(np.int64)
    r0 = np.clip(np.floor(uv[..., 1].min(axis=1)) - 1, 0, height).astype(np.int64)
    r1 = np.clip(np.ceil(uv[..., 1].max(axis=1)) + 1, 0, height).astype(np.int64)
    c0[whole], r0[whole], c1[whole], r1[whole] = 0, 0, width, height
    allowed = area[r1, c1] - area[r0, c1] - area[r1, c0] + area[r0, c0]
    return keep & (allowed > 0)


def _placed_triangles(geometry: SceneGeometry, placements, camera: Mapping, allowed):
    """Camera-frame triangles of ``placements`` cut to the clip range, and for each the
    index of its placement; in batches of about :data:`TRIANGLES_PER_PASS`. Placements
    that cannot show on an ``allowed`` pixel are left out."""
    w2c = np.asarray(camera["world_to_camera_cv"], dtype=np.float64)
    near, far = float(camera["clip_start"]), float(camera["clip_end"])
    area = np.zeros((allowed.shape[0] + 1, allowed.shape[1] + 1), dtype=np.int64)
    area[1:, 1:] = allowed.cumsum(axis=0).cumsum(axis=1)
    by_mesh: dict = {}
    for index, placement in enumerate(placements):
        by_mesh.setdefault(placement.mesh, []).append(index)
    batch, owners, count = [], [], 0
    for key, indices in by_mesh.items():
        mesh = geometry.meshes[key]
        if not len(mesh.triangles):
            continue
        low, high = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
        box = np.array([[(low, high)[i >> k & 1][k] for k in range(3)] for i in range(8)])
        matrices = w2c @ np.stack([placements[i].matrix for i in indices])
        corners = np.einsum("cij,nj->cni", matrices[:, :3, :3], box) + matrices[:, None, :3, 3]
        shown = _in_view(corners, camera, area)
        indices = [i for i, keep in zip(indices, shown, strict=True) if keep]
        matrices = matrices[shown]
        per = max(1, TRIANGLES_PER_PASS // len(mesh.triangles))
        for first in range(0, len(indices), per):
            group = indices[first : first + per]
            part = matrices[first : first + per]
            points = np.einsum("cij,nj->cni", part[:, :3, :3], mesh.vertices.astype(float))
            points += part[:, None, :3, 3]
            tris = points[:, mesh.triangles]  # C x M x 3 x 3
            owner = np.repeat(np.asarray(group), len(mesh.triangles))
            tris, kept = raster.clip_triangles(tris.reshape(-1, 3, 3), near, far, sources=True)
            batch.append(tris)
            owners.append(owner[kept])
            count += len(tris)
            if count >= TRIANGLES_PER_PASS:
                yield np.concatenate(batch), np.concatenate(owners)
                batch, owners, count = [], [], 0
    if batch:
        yield np.concatenate(batch), np.concatenate(owners)


def _matching_surfaces(geometry, placements, camera, shape, allowed, depth):
    """For every allowed pixel, the placement whose surface there lies nearest the
    rendered depth: ``(pixels, placement index, relative depth error)``."""
    flat_allowed = allowed.ravel()
    flat_depth = depth.ravel()
    ortho = camera["type"] == "ORTHO"
    k = np.asarray(camera["K"], dtype=np.float64)
    found_pixels, found_owner, found_error = [], [], []
    for tris, owners in _placed_triangles(geometry, placements, camera, allowed):
        for tri, pixel, surface in raster.depth_fragments(
            tris, k, ortho=ortho, shape=shape, offset=geometry.sample_offset
        ):
            keep = flat_allowed[pixel]
            pixel, surface, tri = pixel[keep], surface[keep], tri[keep]
            rendered = flat_depth[pixel]
            with np.errstate(invalid="ignore"):
                error = np.abs(surface - rendered) / rendered
            close = error <= LOOSE_TOLERANCE
            found_pixels.append(pixel[close])
            found_owner.append(owners[tri[close]])
            found_error.append(error[close])
    if not found_pixels:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    pixels = np.concatenate(found_pixels)
    owner = np.concatenate(found_owner)
    error = np.concatenate(found_error)
    order = np.lexsort((error, pixels))
    pixels, owner, error = pixels[order], owner[order], error[order]
    first = np.ones(len(pixels), dtype=bool)
    first[1:] = pixels[1:] != pixels[:-1]
    return pixels[first], owner[first], error[first]


def assign_copy_ids(
    instance: np.ndarray,
    depth: np.ndarray,
    geometry: SceneGeometry,
    camera: Mapping,
    copy_ids: Mapping[CopyKey, int],
) -> np.ndarray:
    """Give every pixel that shows a copy the copy's instance ID.

    ``instance`` is the instance map from the Object Index pass, ``depth`` the planar
    depth of the same first samples in the units of the camera block ``camera`` (the
    frame's meta camera: ``K``, ``world_to_camera_cv``, clip range); ``geometry`` holds
    the copies (:class:`~.amodal.CopyPlacement`, by key) and each labelled ID's own
    parts; ``copy_ids`` the ID each copy's pixels get. Pixels whose pass index no copy
    carries, and those that the copies' surfaces do not explain, keep their value.
    Returns a new map of the same dtype.
    """
    result = np.array(instance, copy=True)
    moving: dict[int, list[CopyPlacement]] = {}
    for copy in geometry.copies:
        target = copy_ids.get(copy.instance)
        if target is not None and target != copy.carried:
            moving.setdefault(int(copy.carried), []).append(copy)
    if not moving:
        return result
    shape = instance.shape
    flat = result.reshape(-1)
    for carried, group in moving.items():
        allowed = instance == carried
        if not allowed.any():
            continue
        # Everything whose pixels carry this pass index competes for them.
        placements = [c.placement for c in group]
        targets = [int(copy_ids[c.instance]) for c in group]
        stays = [
            c.placement
            for c in geometry.copies
            if int(c.carried) == carried and copy_ids.get(c.instance, carried) == carried
        ]
        stays += list(geometry.instances.get(carried, ()))
        placements += stays
        targets += [carried] * len(stays)
        pixels, owner, error = _matching_surfaces(
            geometry, placements, camera, shape, allowed, np.asarray(depth, dtype=np.float64)
        )
        # Without the own geometry of the pass index (0: unlabelled objects), only a
        # surface at the rendered depth counts.
        limit = STRICT_TOLERANCE if carried not in geometry.instances else LOOSE_TOLERANCE
        good = error <= limit
        ids = np.asarray(targets, dtype=np.int64)[owner[good]]
        flat[pixels[good]] = ids.astype(result.dtype)
    return result
