"""Every output Ground Truth can write, declared once.

An :class:`Output` says everything the layers of the extension need to agree on: its
``key`` is the one name of the concept everywhere (the scene setting
``output_<key>``, the command-line flag ``--<key with dashes>`` and ``--no-...``, the
key in ``dataset.json``'s conventions and in the reader's frame dict), its panel label
and tooltip, its folder and file type, the render pass it needs, and the conventions
text written into ``dataset.json``. The properties, the panel, the headless command,
the render job, the converter, ``dataset.json`` and the reader all walk
:data:`OUTPUTS`; adding an output is one declaration here plus its converter in
:mod:`ground_truth.labels.convert` (or its writer, for outputs that are fields of other
files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# The panel's groups of outputs, in the order they are drawn.
GROUPS = ("Images", "Labels", "Geometry", "Annotations")


@dataclass(frozen=True)
class RawPass:
    """A render pass written by the compositor to its own raw EXR for an output.

    The file is ``.raw/NNNNNN<suffix>.exr`` with one layer named ``layer``; ``socket``
    names the Render Layers output (``compat.RENDER_LAYER_SOCKETS``), ``view_layer_pass``
    the view-layer property that switches the pass on, and ``channels`` how many it has
    (3: a vector written as X, Y, Z; 4: a colour written as R, G, B, A).
    """

    socket: str
    view_layer_pass: str
    layer: str
    suffix: str
    channels: int


@dataclass(frozen=True)
class Output:
    """One output of a dataset: what a user ticks, and what it means on disk.

    ``folder``/``extension`` place per-frame files at ``<folder>/NNNNNN<extension>``;
    outputs without a folder are written into other files (``file``, or fields of
    meta and COCO). ``channels`` are the EXR channel names of float outputs (stated in
    ``dataset.json`` after the ``dtype`` of ``conventions``). ``reader_keys`` are the
    keys :func:`ground_truth.dataset.reader.load_frame` fills from it (the COCO file,
    one per dataset, is read by ``load_coco``). Ground Truth's converter or writer makes
    every file, the RGB PNG included (from the compositor's uncompressed copy of the
    image). ``needs_instances`` marks annotations of the labelled instances.
    ``passes`` are the view-layer passes it needs packed into the raw layer beside Depth
    and Object Index (the part map: Material Index); they are on only while it is asked
    for, since each pass costs Cycles time on every frame.
    """

    key: str
    label: str
    description: str
    group: str
    default: bool = False
    folder: str | None = None
    extension: str = ""
    file: str | None = None
    channels: tuple[str, ...] = ()
    raw: RawPass | None = None
    passes: tuple[str, ...] = ()
    needs_instances: bool = False
    reader_keys: tuple[str, ...] = ()
    conventions: Mapping = field(default_factory=dict)

    @property
    def setting(self) -> str:
        """The property of ``Scene.ground_truth`` that switches the output on."""
        return f"output_{self.key}"

    @property
    def flag(self) -> str:
        """The command-line flag (``--flag`` / ``--no-flag``)."""
        return "--" + self.key.replace("_", "-")

    @property
    def frame_files(self) -> bool:
        """Whether the output is one file per frame in its own folder."""
        return self.folder is not None

    @property
    def path_pattern(self) -> str | None:
        """How its files are named, as ``dataset.json`` states it: ``depth/NNNNNN.exr``."""
        if self.folder is None:
            return self.file
        return f"{self.folder}/NNNNNN{self.extension}"


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


OUTPUTS: tuple[Output, ...] = (
    Output(
        key="rgb",
        label="RGB",
        description="Write the rendered image as an 8-bit sRGB PNG",
        group="Images",
        default=True,
        folder="rgb",
        extension=".png",
        reader_keys=("rgb", "alpha"),
        conventions=_frozen(
            {"dtype": "uint8", "channels": 3, "color": "sRGB, the scene's view transform"}
        ),
    ),
    Output(
        key="depth",
        label="Depth",
        description="Write planar depth in metres as a float32 OpenEXR",
        group="Geometry",
        default=True,
        folder="depth",
        extension=".exr",
        channels=("Y",),
        reader_keys=("depth",),
        conventions=_frozen(
            {
                "dtype": "float32",
                "kind": "planar (z along the camera's viewing axis), not distance along the ray",
                "unit": "metre",
                "background": "inf",
            }
        ),
    ),
    Output(
        key="class",
        label="Class",
        description="Write the class map as a 16-bit PNG",
        group="Labels",
        default=True,
        folder="class",
        extension=".png",
        reader_keys=("class",),
        conventions=_frozen({"dtype": "uint16", "background": 0, "unlabelled": 0}),
    ),
    Output(
        key="instance",
        label="Instance",
        description="Write the instance map as a 16-bit PNG",
        group="Labels",
        default=True,
        folder="instance",
        extension=".png",
        reader_keys=("instance",),
        conventions=_frozen({"dtype": "uint16", "background": 0, "unlabelled": 0}),
    ),
    Output(
        key="instance32",
        label="32-bit Instance Map",
        description="Write the instance map as a 32-bit EXR (one UINT channel 'id'), for more "
        "than 65,535 instances (copies of large scatters). Untick Instance to lift the "
        "16-bit PNG's limit",
        group="Labels",
        folder="instance32",
        extension=".exr",
        channels=("id",),
        reader_keys=("instance",),
        conventions=_frozen(
            {
                "dtype": "uint32",
                "channel": "id",
                "background": 0,
                "unlabelled": 0,
                "ids": "the same as instance/NNNNNN.png when both are written",
            }
        ),
    ),
    Output(
        key="part",
        label="Part",
        description="Write the part map as a 16-bit PNG: each pixel holds its material's "
        "part ID (Material > Pass Index), 0 = none. Set part IDs on the materials first",
        group="Labels",
        folder="part",
        extension=".png",
        passes=("use_pass_material_index",),
        reader_keys=("part",),
        conventions=_frozen(
            {
                "dtype": "uint16",
                "value": "the part ID (Material.pass_index) of the surface's material",
                "background": 0,
                "no_part": 0,
            }
        ),
    ),
    Output(
        key="normal",
        label="Normal",
        description="Write unit surface normals in the camera frame (OpenCV axes: x right, "
        "y down, z forward) as a float32 OpenEXR",
        group="Geometry",
        folder="normal",
        extension=".exr",
        channels=("X", "Y", "Z"),
        raw=RawPass("normal", "use_pass_normal", "Normal", "_normal", 3),
        reader_keys=("normal",),
        conventions=_frozen(
            {
                "dtype": "float32",
                "kind": "unit shading normal in the camera frame, OpenCV axes (x right, y down, "
                "z forward); back faces show the side the ray hit",
                "background": 0,
                "edges": "averaged over the pixel's samples, then normalised",
            }
        ),
    ),
    Output(
        key="flow",
        label="Flow",
        description="Write forward and backward optical flow in pixels (to the scene's next "
        "and previous frame) with its validity as a float32 OpenEXR. Motion blur is switched "
        "off for the render",
        group="Geometry",
        folder="flow",
        extension=".exr",
        channels=(
            "forward.X",
            "forward.Y",
            "forward.valid",
            "backward.X",
            "backward.Y",
            "backward.valid",
        ),
        raw=RawPass("vector", "use_pass_vector", "Vector", "_vector", 4),
        reader_keys=("flow", "flow_valid", "flow_back", "flow_back_valid"),
        conventions=_frozen(
            {
                "dtype": "float32",
                "unit": "pixel",
                "axes": "x right, y down (Middlebury, Sintel, RAFT): a pixel at (u, v) now is at "
                "(u + X, v + Y) in the other frame",
                "forward": "to the scene's next frame (current frame + 1)",
                "backward": "to the scene's previous frame (current frame - 1)",
                "valid": "1 where the pixel sees a surface and its flow lands inside the image, "
                "else 0; occlusion in the other frame is not checked",
                "background": 0,
            }
        ),
    ),
    Output(
        key="depth_mm",
        label="Depth (mm)",
        description="Also write depth as a 16-bit PNG in millimetres (0 = no data), "
        "as KITTI and NYU do",
        group="Geometry",
        folder="depth_mm",
        extension=".png",
        reader_keys=("depth_mm",),
        conventions=_frozen(
            {
                "dtype": "uint16",
                "unit": "millimetre",
                "value": "planar depth rounded to the nearest millimetre",
                "no_data": "0: background, below 0.5 mm or beyond 65.535 m (dropped, not clamped)",
            }
        ),
    ),
    Output(
        key="meta",
        label="Meta",
        description="Write meta/NNNNNN.json: camera intrinsics and extrinsics, instance poses, "
        "3D and 2D boxes, visible pixel counts",
        group="Annotations",
        default=True,
        folder="meta",
        extension=".json",
        needs_instances=True,
        reader_keys=("meta",),
        conventions=_frozen(
            {
                "content": "camera K (pixel centres at +0.5), world_to_camera_cv, "
                "camera_to_world_blender; per instance: poses, 3D and 2D boxes, visible pixels",
            }
        ),
    ),
    Output(
        key="visible_fraction",
        label="Visible Fraction",
        description="Per instance, the fraction of its silhouette that is visible (in meta and "
        "COCO), to filter heavily occluded objects",
        group="Annotations",
        reader_keys=("meta",),
        conventions=_frozen(
            {
                "where": "meta instances and COCO annotations, key visible_fraction",
                "value": "visible pixels / amodal pixels inside the image (the instance's "
                "silhouette with nothing in front, see amodal), 0..1; 0 when not visible",
            }
        ),
    ),
    Output(
        key="amodal",
        label="Amodal Masks",
        description="Per instance, its whole silhouette including the parts hidden behind "
        "others (amodal/NNNNNN.json and COCO amodal_segmentation), with amodal and visible "
        "boxes, visible fraction and truncation by the image border",
        group="Annotations",
        folder="amodal",
        extension=".json",
        needs_instances=True,
        reader_keys=("amodal",),
        conventions=_frozen(
            {
                "content": "per instance with amodal pixels in the image: id, "
                "amodal_segmentation (COCO compressed RLE), amodal_bbox, amodal_pixels, "
                "visible_pixels, visible_fraction, truncation",
                "amodal": "pixels whose first-sample camera ray hits the instance's own "
                "geometry within the clip range, every other object ignored (rasterised "
                "exactly at Cycles' first-sample positions), plus its visible pixels",
                "visible": "instance == id in the instance map; always inside the amodal mask",
                "visible_fraction": "visible pixels / amodal pixels inside the image",
                "truncation": "share of the silhouette outside the image, counted on the "
                "pixel lattice extended past the border (beyond 4 image areas of bounding "
                "box, on a coarser lattice)",
                "meta": "amodal_pixels, amodal_bbox, truncation, visible_fraction for every "
                "instance (truncation null without any silhouette)",
                "coco": "on each annotation: amodal_segmentation, amodal_bbox, amodal_area, "
                "visible_fraction, truncation; segmentation, bbox and area stay the visible "
                "instance's",
            }
        ),
    ),
    Output(
        key="models",
        label="Object Models",
        description="Write one 3D model per distinct labelled shape (models/<key>.ply) and, "
        "per instance in meta, its model and the model's rigid pose: what a BOP export needs",
        group="Annotations",
        needs_instances=True,
        reader_keys=("meta",),
        conventions=_frozen(
            {
                "files": "models/<model key>.ply, one per distinct model (see "
                "ground_truth.dataset.models)",
                "format": "binary little-endian PLY: float x, y, z per vertex, triangles "
                "(list uchar int vertex_indices); header comments 'ground_truth model <key>' "
                "and 'metres_per_unit <Unit Scale>'",
                "unit": "scene units, as the meta (metres with the default unit scale)",
                "frame": "the model frame: the rigid part (closest rotation, translation) of "
                "the labelled object's matrix_world (the copy's, for copies); its scale is "
                "baked into the vertices",
                "content": "every triangle the instance renders: the labelled object and its "
                "unlabelled parts (the geometry of amodal masks), unused vertices dropped",
                "key": "16 hex digits of a SHA-256 of the vertices quantised to 1e-6 scene "
                "units, the triangles and the unit: equal shapes (copies of one source, "
                "objects sharing a mesh at one scale) share a model; a shape that changes "
                "(deformation, animated scale) gives another model",
                "meta": "per instance: model (its key; null without triangles), "
                "model_pose_world and model_pose_camera_cv (4x4 rigid: model frame to world, "
                "to the OpenCV camera frame)",
            }
        ),
    ),
    Output(
        key="coco",
        label="COCO",
        description="Keep annotations/coco_instances.json up to date (RLE masks, boxes)",
        group="Annotations",
        default=True,
        file="annotations/coco_instances.json",
        needs_instances=True,
        conventions=_frozen(
            {
                "content": "COCO instances: one image per frame (id = frame), one category per "
                "class, compressed RLE masks, tight boxes, area = pixel count",
            }
        ),
    ),
    Output(
        key="preview",
        label="Preview",
        description="Write a side-by-side preview picture for a quick visual check",
        group="Annotations",
        default=True,
        folder="preview",
        extension=".png",
        reader_keys=("preview",),
        conventions=_frozen(
            {"content": "RGB | depth | class | instance (| part | normal | flow), with legends"}
        ),
    ),
)

BY_KEY: Mapping[str, Output] = MappingProxyType({output.key: output for output in OUTPUTS})

# What a new scene writes.
DEFAULT_KEYS = frozenset(output.key for output in OUTPUTS if output.default)


def frame_outputs(keys) -> list[Output]:
    """The outputs among ``keys`` that have one file per frame, in declaration order."""
    return [output for output in OUTPUTS if output.key in keys and output.frame_files]
