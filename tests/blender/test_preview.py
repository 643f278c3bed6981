"""Class colours in the viewport: on, off, twice, across a save, and during a render."""

import bpy
import numpy as np
import pytest
from PIL import Image

from ground_truth import compat
from ground_truth.preview.colors import instance_color
from ground_truth.scene.viewport import UNLABELLED_COLOR

from helpers import add_box, add_camera, label, select_only

# A spread of the colour types a user may have chosen, assigned round-robin to the views.
COLOR_TYPES = ("MATERIAL", "RANDOM", "SINGLE", "TEXTURE", "VERTEX", "OBJECT")


def view3d_shadings():
    return [
        (f"{screen.name}/{a}/{s}", space.shading)
        for screen in bpy.data.screens
        for a, area in enumerate(screen.areas)
        if area.type == "VIEW_3D"
        for s, space in enumerate(area.spaces)
        if space.type == "VIEW_3D"
    ]


def color_types():
    return {key: shading.color_type for key, shading in view3d_shadings()}


def colors(scene):
    return {ob.name: tuple(ob.color) for ob in scene.objects}


def rounded(color):
    return tuple(round(v, 5) for v in color)


@pytest.fixture
def labelled(scene):
    """Two classes, a child, a lone object; each object and each 3D view has its own setting."""
    assert view3d_shadings(), "the factory startup has 3D views"
    for i, (_key, shading) in enumerate(view3d_shadings()):
        shading.color_type = COLOR_TYPES[i % len(COLOR_TYPES)]
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    wheel = add_box(scene, "Wheel", (0.0, 0.0, 1.0), (0.2, 0.2, 0.2), parent=car)
    man = add_box(scene, "Man", (2.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    rock = add_box(scene, "Rock", (4.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    for i, ob in enumerate((car, wheel, man, rock)):
        ob.color = (0.1 * (i + 1), 0.2, 0.3 + 0.1 * i, 0.5 + 0.1 * i)
    label([car], "Vehicle").color = (1.0, 0.0, 0.0)
    label([man], "Person").color = (0.0, 0.25, 1.0)
    select_only([])
    return scene


def check_preview_on(scene):
    assert scene.ground_truth.preview_colors is True
    expected = {
        "Car": (1.0, 0.0, 0.0, 1.0),
        "Wheel": (1.0, 0.0, 0.0, 1.0),  # unlabelled child: its parent's colour
        "Man": (0.0, 0.25, 1.0, 1.0),
        "Rock": UNLABELLED_COLOR,
    }
    assert {name: rounded(c) for name, c in colors(scene).items()} == {
        name: rounded(c) for name, c in expected.items()
    }
    assert set(color_types().values()) == {"OBJECT"}


def test_preview_shows_class_colours_and_restores_everything_exactly(labelled):
    scene = labelled
    own_colors, own_types = colors(scene), color_types()
    assert len(set(own_types.values())) > 1

    assert bpy.ops.ground_truth.preview_colors(enable=True) == {"FINISHED"}
    check_preview_on(scene)

    assert bpy.ops.ground_truth.preview_colors(enable=False) == {"FINISHED"}
    assert scene.ground_truth.preview_colors is False
    assert colors(scene) == own_colors
    assert color_types() == own_types


def test_turning_the_preview_on_or_off_twice_is_harmless(labelled):
    scene = labelled
    own_colors, own_types = colors(scene), color_types()
    bpy.ops.ground_truth.preview_colors(enable=True)
    bpy.ops.ground_truth.preview_colors(enable=True)
    check_preview_on(scene)
    bpy.ops.ground_truth.preview_colors(enable=False)
    bpy.ops.ground_truth.preview_colors(enable=False)
    assert colors(scene) == own_colors
    assert color_types() == own_types
    # Off while already off changes nothing either.
    scene.objects["Rock"].color = (0.9, 0.8, 0.7, 1.0)
    bpy.ops.ground_truth.preview_colors(enable=False)
    assert tuple(scene.objects["Rock"].color) == pytest.approx((0.9, 0.8, 0.7, 1.0))


def test_label_changes_while_the_preview_is_on_are_shown_and_undone(labelled):
    scene = labelled
    own_colors = colors(scene)
    bpy.ops.ground_truth.preview_colors(enable=True)
    rock, car = scene.objects["Rock"], scene.objects["Car"]
    label([rock], "Person")
    assert rounded(rock.color) == (0.0, 0.25, 1.0, 1.0)
    select_only([car])
    bpy.ops.ground_truth.clear_class()
    assert rounded(car.color) == rounded(UNLABELLED_COLOR)
    assert rounded(scene.objects["Wheel"].color) == rounded(UNLABELLED_COLOR)

    new = add_box(scene, "New", (6.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new.color = (0.3, 0.6, 0.9, 1.0)
    label([new], "Vehicle")
    assert rounded(new.color) == (1.0, 0.0, 0.0, 1.0)

    bpy.ops.ground_truth.preview_colors(enable=False)
    assert colors(scene) == {**own_colors, "New": tuple(np.float32((0.3, 0.6, 0.9, 1.0)))}


def test_the_preview_survives_save_and_reopen_and_still_restores(labelled, tmp_path):
    scene = labelled
    own_colors, own_types = colors(scene), color_types()
    bpy.ops.ground_truth.preview_colors(enable=True)
    path = tmp_path / "preview.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(path))

    scene = bpy.context.scene
    check_preview_on(scene)
    bpy.ops.ground_truth.preview_colors(enable=False)
    assert colors(scene) == own_colors
    assert color_types() == own_types


def test_a_render_while_the_preview_is_on_uses_the_users_colours(scene, out_dir):
    # A material showing the object's colour as emission: the render shows exactly
    # the colour the object has while rendering.
    scene.view_settings.view_transform = "Standard"
    scene.render.dither_intensity = 0.0
    scene.world = None
    material = bpy.data.materials.new("Object Colour")
    if material.node_tree is None:  # 4.x; 5.0 materials always have nodes
        compat.use_nodes(material)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    info = nodes.new("ShaderNodeObjectInfo")
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])

    add_camera(scene, location=(0.0, 0.0, 5.0), ortho_scale=4.0)
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (8.0, 8.0, 1.0))
    box.data.materials.append(material)
    box.color = (0.0, 1.0, 0.0, 1.0)
    label([box], "Car").color = (1.0, 0.0, 0.0)
    bpy.ops.ground_truth.preview_colors(enable=True)
    assert rounded(box.color) == (1.0, 0.0, 0.0, 1.0)

    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    rgb = np.asarray(Image.open(out_dir / "rgb" / f"{scene.frame_current:06d}.png"))
    assert (rgb[..., :3] == (0, 255, 0)).all(), rgb[12, 16]
    # The preview is back on afterwards.
    assert scene.ground_truth.preview_colors is True
    assert rounded(box.color) == (1.0, 0.0, 0.0, 1.0)
    bpy.ops.ground_truth.preview_colors(enable=False)
    assert rounded(box.color) == (0.0, 1.0, 0.0, 1.0)


def test_two_scenes_with_the_preview_on_restore_the_views_when_both_are_off(labelled):
    # The 3D views belong to the file's screens, not to a scene.
    first = labelled
    own_types = color_types()
    second = bpy.data.scenes.new("Second")
    bpy.ops.ground_truth.preview_colors(enable=True)
    with bpy.context.temp_override(scene=second):
        assert bpy.ops.ground_truth.preview_colors(enable=True) == {"FINISHED"}
    assert second.ground_truth.preview_colors and first.ground_truth.preview_colors

    bpy.ops.ground_truth.preview_colors(enable=False)
    # The second scene still shows class colours, so the views stay as they are.
    assert set(color_types().values()) == {"OBJECT"}
    with bpy.context.temp_override(scene=second):
        bpy.ops.ground_truth.preview_colors(enable=False)
    assert color_types() == own_types


# --- any shading, class or instance colours ------------------------------------------------

SHADINGS = ("SOLID", "MATERIAL", "RENDERED", "WIREFRAME")
WIREFRAME_COLOR_TYPES = ("THEME", "RANDOM", "OBJECT")


def shading_state():
    return {
        key: (shading.type, shading.color_type, shading.wireframe_color_type)
        for key, shading in view3d_shadings()
    }


@pytest.fixture
def shaded(labelled):
    """The labelled scene with its 3D views in every shading type a user may have chosen."""
    for i, (_key, shading) in enumerate(view3d_shadings()):
        shading.type = SHADINGS[i % len(SHADINGS)]
        shading.wireframe_color_type = WIREFRAME_COLOR_TYPES[i % len(WIREFRAME_COLOR_TYPES)]
    return labelled


def test_colours_show_in_any_shading_and_every_view_comes_back_exactly(shaded, capfd):
    scene = shaded
    own_colors, own_state = colors(scene), shading_state()
    assert {state[0] for state in own_state.values()} == set(SHADINGS)
    switched = sum(1 for state in own_state.values() if state[0] in ("MATERIAL", "RENDERED"))
    capfd.readouterr()

    assert bpy.ops.ground_truth.preview_colors(enable=True) == {"FINISHED"}
    check_preview_on_in_any_shading(scene)
    (report,) = [line for line in capfd.readouterr()[0].splitlines() if line.startswith("Info")]
    assert report == (
        f"Info: Class colours shown in {len(own_state)} 3D view(s); {switched} switched from "
        "Material and Rendered to Solid"
    )
    assert bpy.ops.ground_truth.preview_colors(enable=False) == {"FINISHED"}
    assert colors(scene) == own_colors
    assert shading_state() == own_state


def check_preview_on_in_any_shading(scene):
    for key, (kind, color_type, wire_type) in shading_state().items():
        assert kind in ("SOLID", "WIREFRAME"), key
        shown = wire_type if kind == "WIREFRAME" else color_type
        assert shown in ("OBJECT", ""), key  # "": 4.2's unreadable value, left alone


def test_instance_colours_are_the_preview_pictures_and_switch_with_the_class_colours(shaded):
    scene = shaded
    own_colors, own_state = colors(scene), shading_state()
    car, wheel, man, rock = (scene.objects[n] for n in ("Car", "Wheel", "Man", "Rock"))
    assert bpy.ops.ground_truth.preview_colors(enable=True, mode="INSTANCE") == {"FINISHED"}
    assert scene.ground_truth.preview_mode == "INSTANCE"
    check_preview_on_in_any_shading(scene)
    for ob in (car, wheel, man):
        owner_id = (car if ob == wheel else ob).ground_truth.instance_id
        assert rounded(ob.color) == rounded((*instance_color(owner_id), 1.0)), ob.name
    assert rounded(rock.color) == rounded(UNLABELLED_COLOR)
    assert rounded(car.color) != rounded(man.color)

    # Switching to class colours keeps the views' saved shading; off restores all of it.
    bpy.ops.ground_truth.preview_colors(enable=True, mode="CLASS")
    assert rounded(car.color) == (1.0, 0.0, 0.0, 1.0)
    bpy.ops.ground_truth.preview_colors(enable=False)
    assert colors(scene) == own_colors
    assert shading_state() == own_state


def test_a_copy_made_while_instance_colours_show_gets_its_own_colour(labelled):
    scene = labelled
    car = scene.objects["Car"]
    bpy.ops.ground_truth.preview_colors(enable=True, mode="INSTANCE")
    select_only([car])
    bpy.ops.object.duplicate()
    bpy.context.view_layer.update()
    copy = bpy.context.selected_objects[0]
    assert copy.ground_truth.instance_id not in (0, car.ground_truth.instance_id)
    assert rounded(copy.color) == rounded((*instance_color(copy.ground_truth.instance_id), 1.0))
    # The copy got the source's own colour with it: hiding the colours gives it back.
    own = tuple(car.ground_truth.saved_color)
    bpy.ops.ground_truth.preview_colors(enable=False)
    assert tuple(copy.color) == own
