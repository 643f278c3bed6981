"""The extension's data: one property group per ID type.

``Scene.ground_truth`` holds the class table and output choices,
``Object.ground_truth`` an object's class and its managed instance ID.
"""

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from .. import compat
from ..dataset.outputs import OUTPUTS
from ..labels.ids import MAX_ID

# No update callbacks: the bpy 4.2 module crashes at exit when a property has one
# (measured on the 4.2.23 wheel), so changes that need side effects go through operators.


class GroundTruthClass(bpy.types.PropertyGroup):
    """One semantic class: a stable integer ID, a name and a display colour."""

    id: IntProperty(
        name="ID",
        description="Integer written to the class map for objects of this class",
        min=1,
        max=MAX_ID,
        default=1,
    )
    name: StringProperty(name="Name", default="Class")
    color: FloatVectorProperty(
        name="Colour",
        description="Display colour in previews and the viewport",
        subtype="COLOR_GAMMA",
        size=3,
        min=0.0,
        max=1.0,
        default=(1.0, 1.0, 1.0),
    )
    stuff: BoolProperty(
        name="Stuff",
        description="An amorphous region (floor, wall, road, sky, grass) rather than countable "
        "things (cars, people): written to dataset.json and the class table file as 'stuff'",
        default=False,
    )
    share_copies: BoolProperty(
        name="Copies Share ID",
        description="Copies of this class drawn by collection instances, particles or geometry "
        "nodes keep the ID of the object they copy instead of getting their own (for scatters "
        "of thousands: grass, leaves, gravel)",
        default=False,
    )


class GroundTruthSceneSettings(bpy.types.PropertyGroup):
    """Class table and output choices of a scene (the outputs' checkboxes are added below)."""

    classes: CollectionProperty(type=GroundTruthClass)
    active_class_index: IntProperty(name="Active Class", default=0, min=0)
    output_dir: StringProperty(
        name="Output Folder",
        description="Folder the dataset is written to (// is relative to the .blend file)",
        default="//ground_truth/",
        subtype="DIR_PATH",
        options=compat.PATH_PROPERTY_OPTIONS,
    )
    distinct_copies: BoolProperty(
        name="Distinct Copies",
        description="Give every copy drawn by a collection instance, particle system or geometry "
        "nodes its own instance ID, told apart by its geometry (no extra render pass). Off, "
        "copies keep the ID of the object they copy",
        default=True,
    )
    use_scene_range: BoolProperty(
        name="Scene Range",
        description="Render the scene's frame range (otherwise the range below)",
        default=True,
    )
    frame_start: IntProperty(name="Start", description="First frame", default=1, min=0)
    frame_end: IntProperty(name="End", description="Last frame", default=250, min=0)
    frame_step: IntProperty(name="Step", description="Render every n-th frame", default=1, min=1)
    samples: IntProperty(
        name="Samples",
        description="Cycles samples per pixel for Render Ground Truth (0 = the scene's own "
        "Cycles samples). The labels come from the first sample either way",
        default=0,
        min=0,
        soft_max=4096,
    )
    resume: BoolProperty(
        name="Resume",
        description="Skip the frames the output folder already holds complete, with every "
        "output ticked (off: every frame is rendered again, as Output > Overwrite does)",
        default=False,
    )
    labels_only: BoolProperty(
        name="Labels Only",
        description="Depth, class and instance maps only: one sample, no light bounces, "
        "no RGB image. Much faster",
        default=False,
    )
    # Set by the ground_truth.preview_colors operator, which saves and restores colours.
    preview_colors: BoolProperty(
        name="Class Colours",
        description="Every object is shown in its class colour",
        default=False,
        options={"HIDDEN"},
    )
    # What the preview colours by (set by the same operator).
    preview_mode: EnumProperty(
        name="Colours",
        items=(
            ("CLASS", "Class", "Every object in its class colour"),
            ("INSTANCE", "Instance", "Every instance in its own colour, as the preview picture"),
        ),
        default="CLASS",
        options={"HIDDEN"},
    )
    # JSON of the viewport shading saved while the class-colour preview is on.
    saved_shading: StringProperty(options={"HIDDEN"})
    # JSON summary of the last Render Ground Truth run (frames, time, folder), for the panel.
    last_render: StringProperty(options={"HIDDEN"})
    # JSON of what the compositor setup changed outside its own nodes, for its removal.
    compositor_record: StringProperty(options={"HIDDEN"})


# One checkbox per output (``output_<key>``), from the output declarations.
for _output in OUTPUTS:
    GroundTruthSceneSettings.__annotations__[_output.setting] = BoolProperty(
        name=_output.label, description=_output.description, default=_output.default
    )
del _output


class GroundTruthObjectSettings(bpy.types.PropertyGroup):
    """An object's class (0 = unlabelled) and the instance ID the extension manages."""

    class_id: IntProperty(
        name="Class",
        description="Class ID of this object (0 = unlabelled)",
        min=0,
        max=MAX_ID,
        default=0,
        override={"LIBRARY_OVERRIDABLE"},
    )
    instance_id: IntProperty(
        name="Instance",
        description="Instance ID written to the Object Index pass (0 = none)",
        min=0,
        max=MAX_ID,
        default=0,
        override={"LIBRARY_OVERRIDABLE"},
    )
    # The pass index the user had set before the extension managed the object's, given
    # back when the object is no longer labelled (nor part of a labelled parent).
    user_pass_index: IntProperty(
        min=0, max=MAX_ID, options={"HIDDEN"}, override={"LIBRARY_OVERRIDABLE"}
    )
    # Set by "One Instance from Selected" and "Instance per Collection": this unlabelled
    # object renders as part of that object's instance, as an unlabelled child does.
    instance_of: PointerProperty(
        type=bpy.types.Object,
        name="Part Of",
        description="The labelled object whose instance this object renders as part of",
        override={"LIBRARY_OVERRIDABLE"},
    )
    share_copies: BoolProperty(
        name="Copies Share ID",
        description="The copies this object draws (collection instance, particles, geometry "
        "nodes) keep the ID of the object they copy instead of getting their own",
        default=False,
        override={"LIBRARY_OVERRIDABLE"},
    )
    saved_color: FloatVectorProperty(size=4, subtype="COLOR", options={"HIDDEN"})
    has_saved_color: BoolProperty(options={"HIDDEN"})
