"""What is written for each frame and for the dataset, shared by render and finalize.

``DatasetWriter`` takes everything it needs from the scene when it is created (on the
main thread) as frozen values: the run's options, the label table, the scene's
:class:`SceneFacts` (read by ``render.facts``). This module does not import Blender and
its methods touch no Blender data, so a render hands the writer to a process of its own
(``render.writer_process``) that converts each frame while the next one renders. The
copy table and the cache of records it builds up belong to that process alone.

A frame is finished in this order: its label files, then a check that every file of
the frame (Blender's own included) exists and reads back, then its record, then the
index (``dataset.json`` and COCO, rebuilt from every process's records under the
dataset's lock); see :mod:`ground_truth.dataset.records`.
"""

import contextlib
import errno
import os
import shutil
import stat
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .. import versioning
from ..codecs import exr, png
from ..dataset import amodal as amodal_file
from ..dataset import coco, layout, meta, records
from ..dataset import description as dataset_json
from ..dataset import models as model_files
from ..dataset.outputs import BY_KEY, frame_outputs
from ..errors import GroundTruthError
from ..labels import amodal, annotations, convert, copies, passes
from ..labels import models as object_models
from ..labels.ids import MAX_ID, MAX_ID_16
from ..labels.masks import bboxes_from_instance_map

try:  # Unix: the file-size limit a message may name
    import resource
except ImportError:  # Windows
    resource = None

# During a render the index (dataset.json) and the COCO file are rewritten at most this
# often, and always at the end. Each rewrite reads every frame's record, so it costs more
# the longer a run is (about 0.05 s for dataset.json and 0.6 s for COCO at 10,000 frames):
# after one, the next waits at least its CPU time over INDEX_SHARE, so that each takes at
# most that share of the run's time (``benchmarks/index_cost.py``). Every frame still has
# its record, the truth a resume and the final index are made from.
INDEX_INTERVAL_S = 2.0
COCO_INTERVAL_S = 10.0
INDEX_SHARE = 0.01

# What the compositor of a farm's saved setup writes into a folder with no dataset.json
# (the setups of earlier versions wrote the RGB PNGs themselves).
_FARM_ENTRIES = {layout.RAW_DIR, BY_KEY["rgb"].folder}


@dataclass(frozen=True)
class SceneFacts:
    """What the writer knows of the scene, read on the main thread (``render.facts``)."""

    name: str
    unit_scale: float
    resolution: tuple  # (width, height) in pixels
    blend_path: str  # the .blend file's absolute path; "" when it was never saved
    blender_version: str
    parts: list = field(default_factory=list)  # [{id, materials: [names]}]


@dataclass
class FolderState:
    """What the dataset folder holds before a run: its frames, and whether they go."""

    listed: list = field(default_factory=list)
    # The run's labels differ from the dataset's and the run renders all its frames:
    # the old frames are forgotten first, so that no frame of either kind mixes in.
    replace: bool = False


class DatasetWriter:
    """Writes a scene's frames and its index into one dataset folder.

    ``options`` are the run's :class:`~ground_truth.render.options.RenderOptions`,
    ``labels`` its :class:`~ground_truth.labels.tables.LabelTable`, ``raw_dir`` the
    folder the compositor writes this run's raw passes to. ``rgb_by_blender``: the RGB
    PNGs are there already, written by an earlier version's compositor setup.
    """

    def __init__(self, facts, options, labels, raw_dir, copy_table=None, *, rgb_by_blender=False):
        self.options = options
        self.output_dir = options.output_dir
        self.raw_dir = raw_dir
        self.labels = labels
        self._blend_path = facts.blend_path
        # Records name Blender's process, also when a process of the writer's own writes them.
        self._process = records.owner()
        self._unit_scale = facts.unit_scale
        self._class_colors = {c.id: c.color for c in labels.classes}
        self._class_names = {c.id: c.name for c in labels.classes}
        # Copies get IDs after the labelled objects' (labels/copies.py); beyond 65535
        # the instance map is 32-bit.
        last_id = copy_table.last_id if copy_table is not None else 0
        self._copy_dtype = np.uint32 if last_id > MAX_ID_16 else np.uint16
        self._lookup = passes.class_lookup(
            {i.id: i.class_id for i in labels.instances}, size=max(MAX_ID, last_id) + 1
        )
        self._frame_keys = [o.key for o in frame_outputs(options.outputs)]
        # dataset.json's entries of the labelled objects, made once (read, never changed).
        self._label_instances = {i.id: asdict(i) for i in labels.instances}
        self._rgb_by_blender = rgb_by_blender
        self._records = {}  # frame -> (mtime_ns, record): records read or written so far
        self._index_due = self._coco_due = 0.0  # time.monotonic() of the next rewrite
        self._coco_dirty = False
        blend = facts.blend_path
        self._dataset = {
            "classes": labels.class_dicts(),
            "blender_version": facts.blender_version,
            "scene": facts.name,
            "blend_file": os.path.basename(blend),
            "blend_path": os.path.relpath(blend, self.output_dir).replace(os.sep, "/")
            if blend
            else "",
            "resolution": facts.resolution,
            "parts": facts.parts,
            "copy_blocks": copy_table.describe() if copy_table is not None else [],
        }

    # ------------------------------------------------------------------ the folder

    def inspect_folder(self, frames, *, farm=False):
        """Check the folder before anything is written; returns a :class:`FolderState`.

        Refuses a folder with files Ground Truth did not write and no dataset.json (the
        .blend file being rendered may lie there; a farm's saved setup writes ``.raw`` and
        ``rgb``: ``farm`` accepts those), a
        dataset of another scene, links where the dataset's folders go, and labels that
        differ from the dataset's unless this run renders all of its ``frames`` again.
        """
        root = self.output_dir
        if not os.path.isdir(root):
            return FolderState()
        self._refuse_links(root)
        try:
            previous = dataset_json.read(root, strict=True)
        except dataset_json.ForeignDatasetError as error:
            raise GroundTruthError(
                f"{error}: choose another output folder (Ground Truth never overwrites files "
                "it did not write)"
            ) from None
        if previous is None:
            entries = sorted(os.listdir(root))
            own = _scene_files(root, self._blend_path)
            foreign = [
                e
                for e in entries
                if not records.is_bookkeeping(e)
                and e not in own
                and not (farm and e in _FARM_ENTRIES)
            ]
            if foreign:
                shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
                raise GroundTruthError(
                    f"The folder {root} holds files Ground Truth did not write ({shown}) and "
                    "no dataset.json: choose an empty or new folder"
                )
            return FolderState()
        current = self.description([])
        problem = dataset_json.identity_mismatch(previous, current)
        if problem:
            raise GroundTruthError(
                f"The folder {root} holds a dataset of another scene ({problem}): "
                "choose another output folder, or delete that dataset first"
            )
        listed = sorted(set(previous["frames"]) | set(records.recorded_frames(root)))
        changes = dataset_json.label_differences(previous, current)
        if not changes:
            return FolderState(listed)
        missing = sorted(set(listed) - set(frames))
        if missing:
            shown = "; ".join(changes[:3]) + (" ..." if len(changes) > 3 else "")
            raise GroundTruthError(
                f"The labels changed since the dataset in {root} was rendered ({shown}), and "
                f"this run would leave {len(missing)} of its frames (from {missing[0]}) with "
                "the old labels: render all its frames again, or choose another folder"
            )
        return FolderState(listed, replace=True)

    def _refuse_links(self, root):
        for name in (*{o.folder for o in BY_KEY.values() if o.folder}, records.RECORDS_DIR):
            path = os.path.join(root, name)
            if os.path.islink(path):
                raise GroundTruthError(
                    f"{path} is a symbolic link (to {os.readlink(path)}): Ground Truth writes "
                    "only inside the dataset folder, never through links"
                )

    def claim_folder(self, state):
        """Make the folder this dataset's before the first file: clean what killed
        processes left, make this run's raw folder, bring an older dataset's frames into
        records, write the index."""
        root = self.output_dir
        os.makedirs(root, exist_ok=True)
        records.remove_leftovers(root)
        records.make_raw_folder(self.raw_dir)
        try:
            with records.DatasetLock(root):
                previous = dataset_json.read(root)
                if state.replace:
                    for frame in records.recorded_frames(root):
                        records.remove_record(root, frame)
                elif previous is not None:
                    versioning.records_for_listed_frames(root, previous)
            self.write_index(final=True)
        except BaseException:
            self.remove_raw_folder()
            raise

    # ------------------------------------------------------------------ a frame

    def frame_complete(self, frame):
        """Whether ``frame`` has a record holding every output of this run, and its files
        are still there with their recorded sizes."""
        record = records.read_record(self.output_dir, frame)
        if record is None or not set(self.options.outputs) <= set(record.get("outputs", ())):
            return False
        paths = [
            (layout.frame_path(self.output_dir, key, frame), stamp)
            for key, stamp in record.get("files", {}).items()
        ] + [
            (model_files.model_path(self.output_dir, key), stamp)
            for key, stamp in record.get("models", {}).items()
        ]
        for path, stamp in paths:
            try:
                info = os.lstat(path)
            except (OSError, ValueError):
                return False
            if not stat.S_ISREG(info.st_mode) or info.st_size != records.stamp_size(stamp):
                return False
        return True

    def check_targets(self, frame):
        """Refuse to render ``frame`` where one of its files would be written through a
        symbolic link (out of the dataset folder)."""
        paths = [layout.frame_path(self.output_dir, key, frame) for key in self._frame_keys]
        paths.append(records.record_path(self.output_dir, frame))
        for path in paths:
            if os.path.islink(path):
                raise GroundTruthError(
                    f"{path} is a symbolic link (to {os.readlink(path)}): Ground Truth never "
                    "writes through links; remove it"
                )

    def finish_frame(self, frame, info, index_now=False):
        """Convert ``frame``, check every file of it, record it and rewrite the index
        when due (``index_now``: in any case, see :meth:`write_index`)."""
        found = self.convert(frame, info)
        self.verify_frame(frame)
        self.record_frame(frame, found)
        self.write_index(now=index_now)

    def convert(self, frame, info=None):
        """Turn the raw passes of ``frame`` into label files and annotations.

        ``info`` is ``scene.frame_info.collect`` of the frame: without it no meta file
        is written. Returns what the frame's record needs (its COCO entry, its copies).
        """
        root = self.output_dir
        outputs = self.options.outputs
        camera = info["camera"] if info is not None else None
        found_copies = info.get("copies") if info is not None else None
        raw = layout.raw_path(self.raw_dir, frame)
        if not os.path.isfile(raw):
            raise GroundTruthError(f"Blender did not write {raw}: {why_not_written(raw)}")
        made = outputs - {"rgb"} if self._rgb_by_blender else outputs
        image = layout.image_copy_path(self.raw_dir, frame)
        try:
            labels = convert.convert_frame(
                root,
                frame,
                made,
                raw_dir=self.raw_dir,
                unit_scale=self._unit_scale,
                lookup=self._lookup,
                class_colors=self._class_colors,
                class_names=self._class_names,
                world_to_camera_cv=camera["world_to_camera_cv"] if camera else None,
                refine=(lambda labels: self._copy_ids(labels, info)) if found_copies else None,
            )
        except ValueError as error:  # a raw file Blender did not write whole
            raise GroundTruthError(f"Frame {frame}: {error} ({why_incomplete(raw)})") from error
        except FileNotFoundError as error:
            if error.filename != image:
                raise
            why = why_not_written(image)
            raise GroundTruthError(f"Blender did not write {image}: {why}") from None
        # Boxes and pixel counts once, for the meta and for COCO.
        boxes = bboxes_from_instance_map(labels.instance)
        height, width = labels.instance.shape
        # Amodal silhouettes (labels/amodal.py), keyed by the IDs given to copies here.
        silhouettes = document = None
        geometry = info.get("geometry") if info is not None else None
        copy_ids = {c["key"]: c["id"] for c in found_copies or []}
        if geometry is not None and outputs & {"amodal", "visible_fraction"}:
            silhouettes = amodal.frame_amodal(geometry, camera, labels.instance, boxes, copy_ids)
            if "amodal" in outputs:
                entries = amodal.file_entries(silhouettes, (height, width))
                document = amodal_file.frame_document(frame, width, height, entries)
                amodal_file.write_frame(root, frame, document)
        # Copies that show (or have amodal pixels in the image) are listed in meta, the
        # record and dataset.json: a scatter of thousands lists the copies in view.
        shown = set(boxes) | {i for i, s in (silhouettes or {}).items() if s.amodal_pixels}
        inputs = (
            info["instances"]
            + [c for c in found_copies or [] if c["distinct"] and c["id"] in shown]
            if info is not None
            else []
        )
        # Object models (labels/models.py) in the frames of the meta's entries; copies
        # that share their source's ID are not part of its model.
        models = None
        if geometry is not None and "models" in outputs:
            distinct = {c["key"]: c["id"] for c in found_copies or [] if c["distinct"]}
            own = replace(
                geometry, copies=tuple(c for c in geometry.copies if c.instance in distinct)
            )
            models = object_models.frame_models(own, inputs, distinct, self._unit_scale)
            model_files.write_models(root, models.values(), self._unit_scale)
        instances = None
        if "meta" in outputs and info is not None:
            fields = (
                amodal.meta_fields(silhouettes, [i["id"] for i in inputs], "amodal" in outputs)
                if silhouettes is not None
                else None
            )
            if models is not None:
                fields = object_models.meta_fields(models, camera["world_to_camera_cv"], fields)
            instances = annotations.instance_annotations(
                labels.instance, inputs, info["camera"]["world_to_camera_cv"], boxes, fields
            )
            frame_meta = meta.frame_meta(frame, width, height, info["camera"], instances)
            meta.write_meta(root, frame, frame_meta, converted=True)
        found = {"copies": self._frame_copies(found_copies, shown)}
        if models is not None:
            found["models"] = sorted({m.key for m in models.values() if m is not None})
        if "coco" in outputs:
            image, entries = coco.frame_entry(
                root,
                frame,
                self.description([]),
                instance_map=labels.instance,
                boxes=boxes,
                meta_instances=instances,
                amodal_document=document,
            )
            found["coco"] = {"image": image, "annotations": entries}
        return found

    def verify_frame(self, frame):
        """Raise :class:`GroundTruthError` naming the file when one of the frame's files is
        missing, incomplete or unreadable."""
        for key in self._frame_keys:
            path = layout.frame_path(self.output_dir, key, frame)
            if not os.path.isfile(path) or os.path.islink(path):
                raise GroundTruthError(f"{path} was not written: {why_not_written(path)}")
            try:
                if path.endswith(".png"):
                    png.verify_png(path)
                elif path.endswith(".exr"):
                    exr.exr_header(path)
            except (OSError, ValueError) as error:
                raise GroundTruthError(f"{path} does not read back ({error})") from error

    def record_frame(self, frame, found):
        """Write the record of the complete ``frame``."""
        files = {
            key: records.file_stamp(layout.frame_path(self.output_dir, key, frame))
            for key in self._frame_keys
        }
        record = {
            "frame": frame,
            "outputs": sorted(self.options.outputs),
            "files": files,
            "copies": found["copies"],
            "process": self._process,
            "written": round(time.time(), 3),
        }
        if self.options.shard is not None:
            index, count, frames = self.options.shard
            record["shard"] = {"number": index + 1, "count": count, "frames": frames}
        if "coco" in found:
            record["coco"] = found["coco"]
        if found.get("models"):
            # The models the frame's meta names: a frame is complete only with them.
            record["models"] = {
                key: records.file_stamp(model_files.model_path(self.output_dir, key))
                for key in found["models"]
            }
        path = records.write_record(self.output_dir, record)
        self._records[frame] = (os.stat(path).st_mtime_ns, record)
        self._coco_dirty = True

    def _frame_copies(self, found_copies, shown):
        """The dataset.json entries of the copies with IDs of their own that show in a
        frame (IDs in ``shown``)."""
        entries = {}
        for found in found_copies or []:
            if found["distinct"] and found["id"] in shown:
                entry = {
                    "id": found["id"],
                    "object": found["object"],
                    "class_id": found["class_id"],
                    "instancer": found["instancer"],
                    "copy": list(found["key"][1]),
                }
                if found["particle_system"]:
                    entry["particle_system"] = found["particle_system"]
                entries[found["id"]] = entry
        return [entries[i] for i in sorted(entries)]

    def _copy_ids(self, labels, info):
        """The frame's instance map with each copy's pixels given its ID (see
        labels/copies.py)."""
        found_copies = info["copies"]
        for found in found_copies:
            self._lookup[found["id"]] = found["class_id"]
        instance = labels.instance
        if self._copy_dtype != instance.dtype:
            instance = instance.astype(self._copy_dtype)
        if info.get("geometry") is None:
            return instance  # every copy's pixels carry its ID already
        return copies.assign_copy_ids(
            instance,
            labels.depth / self._unit_scale,
            info["geometry"],
            info["camera"],
            {c["key"]: c["id"] for c in found_copies},
        )

    # ------------------------------------------------------------------ the index

    def description(self, done, copies_used=()):
        """The dataset.json of this dataset listing the frames ``done``."""
        instances = dict(self._label_instances)
        for entry in copies_used:
            instances.setdefault(entry["id"], entry)
        return dataset_json.build(frames=done, instances=list(instances.values()), **self._dataset)

    def _read_records(self, exact):
        """Every record in the folder, reading only those not known yet; ``exact``: and
        those changed since they were read (each record's time stamp is checked).

        During a run a record changes only here (:meth:`record_frame` keeps what it
        writes) or appears from another process rendering other frames into the folder,
        so the rewrites during a run skip the checks; the final index makes them.
        """
        root = self.output_dir
        current = {}
        for frame in records.recorded_frames(root):
            cached = self._records.get(frame)
            if cached is not None and not exact:
                current[frame] = cached
                continue
            path = records.record_path(root, frame)
            try:
                stamp = os.stat(path).st_mtime_ns
            except OSError:
                continue
            if cached is not None and cached[0] == stamp:
                current[frame] = cached
                continue
            record = records.read_record(root, frame)
            if record is not None:
                current[frame] = (stamp, record)
        self._records = current
        return {frame: record for frame, (_stamp, record) in current.items()}

    def write_index(self, final=False, now=False):
        """Rewrite dataset.json from every record, and the COCO file, when due (see
        :data:`INDEX_SHARE`) or ``final``; returns the frames listed, or None when
        neither was due. ``now`` rewrites dataset.json as a run does, due or not."""
        clock = time.monotonic()
        coco_due = "coco" in self.options.outputs and (
            final or (self._coco_dirty and clock >= self._coco_due)
        )
        if not (final or now or coco_due or clock >= self._index_due):
            return None
        root = self.output_dir
        start = time.thread_time()
        with records.DatasetLock(root):
            found = self._read_records(exact=final)
            frames = sorted(found)
            copies_used = [c for frame in frames for c in found[frame].get("copies", [])]
            data = self.description(frames, copies_used)
            dataset_json.write(root, data)
            used = time.thread_time() - start
            self._index_due = time.monotonic() + max(INDEX_INTERVAL_S, used / INDEX_SHARE)
            if coco_due:
                entries = [
                    (found[f]["coco"]["image"], found[f]["coco"]["annotations"])
                    for f in frames
                    if "coco" in found[f]
                ]
                coco.write_document(root, coco.coco_document(data, entries))
                used = time.thread_time() - start - used
                self._coco_due = time.monotonic() + max(COCO_INTERVAL_S, used / INDEX_SHARE)
                self._coco_dirty = False
        return frames

    def remove_raw_folder(self):
        """Remove this run's raw folder (and ``.raw`` when nothing else is in it)."""
        folder = self.raw_dir
        if os.path.basename(folder) != records.owner() or not os.path.isdir(folder):
            return
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(folder)
            os.rmdir(os.path.dirname(folder))


def _scene_files(root, blend):
    """The .blend file being rendered (``blend``) and its backups, when they lie in
    ``root``: a user may keep the dataset next to its scene (output folder ``//``)."""
    if not blend or os.path.dirname(os.path.abspath(blend)) != os.path.abspath(root):
        return set()
    name = os.path.basename(blend)
    return {name, *(f"{name}{number}" for number in range(1, 33))}


def why_not_written(path):
    """The likely reason ``path`` could not be written, for a message."""
    existing = os.path.dirname(path)
    while existing and not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if os.path.isdir(path):
        return "a folder of that name is in the way"
    if existing and not os.path.isdir(existing):
        return f"{existing} is a file where a folder should be"
    if existing and not os.access(existing, os.W_OK | os.X_OK):
        return f"the folder {existing} cannot be written (no permission)"
    with contextlib.suppress(OSError):
        if os.statvfs(existing).f_flag & os.ST_RDONLY:
            return f"{existing} is on a read-only file system"
        if shutil.disk_usage(existing).free < 1 << 20:
            return "the disk is full: free some space"
    return "Blender could not write it (see Blender's messages above)"


def why_incomplete(path):
    """The likely reason a file Blender wrote is incomplete, for a message."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0] if resource else -1
    if limit not in (-1, getattr(resource, "RLIM_INFINITY", -1)):
        return f"files are limited to {limit} bytes here (ulimit -f)"
    with contextlib.suppress(OSError):
        if shutil.disk_usage(os.path.dirname(path)).free < 1 << 20:
            return "the disk is full: free some space"
    return "Blender was stopped while writing it, or it was damaged since"


def write_error(error):
    """A :class:`GroundTruthError` for an ``OSError`` of a write, naming file and cause."""
    where = error.filename or "a file"
    reasons = {
        errno.ENOSPC: "the disk is full: free some space",
        errno.EDQUOT: "the disk quota is used up: free some space",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENAMETOOLONG: "the name is too long for this file system",
        errno.EISDIR: "a folder of that name is in the way",
        errno.ENOTDIR: "a file is in the way of a folder",
        errno.EFBIG: "the file is larger than this system allows (a file size limit?)",
    }
    reason = reasons.get(error.errno, error.strerror or str(error))
    return GroundTruthError(
        f"Could not write {where}: {reason}. The frames written before are complete; "
        "fix this, then render again to resume"
    )
