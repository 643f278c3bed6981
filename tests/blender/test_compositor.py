"""The compositor setup is non-destructive and every render restores the user's state."""

import json
import os

import bpy
import pytest

from ground_truth import compat
from ground_truth.errors import GroundTruthError
from ground_truth.nodes import setup
from ground_truth.render import pipeline, session

from helpers import (
    IS_5,
    add_box,
    add_camera,
    add_plane,
    label,
    setup_from_settings,
    snapshot_scene,
    snapshot_tree,
)


def build_user_tree(scene, folder):
    """The user's own compositor: Render Layers -> Glare -> output, plus a Viewer."""
    if IS_5:
        tree = bpy.data.node_groups.new("User Compositing", "CompositorNodeTree")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        scene.compositing_node_group = tree
        output = tree.nodes.new("NodeGroupOutput")
        output_socket = output.inputs[0]
    else:
        scene.use_nodes = True
        tree = scene.node_tree
        tree.nodes.clear()
        output = tree.nodes.new("CompositorNodeComposite")
        output_socket = output.inputs["Image"]
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.location = (-300.0, 0.0)
    glare = tree.nodes.new("CompositorNodeGlare")
    glare.location = (0.0, 0.0)
    glare.name = "My Glare"
    viewer = tree.nodes.new("CompositorNodeViewer")
    viewer.location = (300.0, -200.0)
    output.location = (300.0, 0.0)
    # The user's own File Output node, writing next to the dataset.
    own_output = tree.nodes.new("CompositorNodeOutputFile")
    own_output.name = "My File Output"
    own_output.location = (300.0, -400.0)
    if IS_5:
        own_output.directory = str(folder / "my_outputs") + "/"
        own_output.file_name = "glare_"
        own_output.file_output_items.new("RGBA", "Image")
    else:
        own_output.base_path = str(folder / "my_outputs" / "glare_")
    tree.links.new(layers.outputs["Image"], glare.inputs[0])
    tree.links.new(glare.outputs[0], output_socket)
    tree.links.new(glare.outputs[0], viewer.inputs[0])
    tree.links.new(glare.outputs[0], own_output.inputs[0])
    return tree


@pytest.fixture
def small_scene(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    floor = add_plane(scene, "Floor")
    box = add_box(scene, "Box", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    label([box], "Box")
    label([floor], "Floor")
    scene.frame_start, scene.frame_end = 1, 3
    return scene


def test_user_tree_is_identical_after_setup_render_and_removal(small_scene, out_dir):
    tree = build_user_tree(small_scene, out_dir.parent)
    before = snapshot_tree(tree)

    setup_from_settings(small_scene)
    with_setup = snapshot_tree(tree)
    own = {n for n, *_ in with_setup[0]} - {n for n, *_ in before[0]}
    assert own == set(setup.OWNED_NODES)
    user_nodes = [n for n in with_setup[0] if n[0] not in own]
    user_links = [lk for lk in with_setup[1] if lk[0] not in own and lk[2] not in own]
    assert (user_nodes, user_links) == (before[0], before[1])

    setup_from_settings(small_scene)
    assert snapshot_tree(tree) == with_setup  # setting up twice changes nothing

    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert snapshot_tree(tree) == with_setup
    assert (out_dir / "depth" / "000001.exr").exists()
    assert list((out_dir.parent / "my_outputs").rglob("*"))  # the user's own output still works

    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert snapshot_tree(tree) == before
    assert compat.get_tree(small_scene) == tree


def test_render_without_setup_leaves_the_scene_as_it_was(small_scene, out_dir):
    build_user_tree(small_scene, out_dir.parent)
    before = snapshot_scene(small_scene)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert snapshot_scene(small_scene) == before
    # Running it again rewrites the same files and still changes nothing in the scene.
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert snapshot_scene(small_scene) == before


def test_render_without_any_compositor_leaves_none(small_scene, out_dir):
    before = snapshot_scene(small_scene)
    assert before["tree"] is None or not before["use_nodes"]
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert snapshot_scene(small_scene) == before
    assert (out_dir / "class" / "000001.png").exists()


def test_setup_then_removal_restores_passes_and_tree(small_scene):
    view_layer = small_scene.view_layers[0]
    before = snapshot_scene(small_scene)
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert view_layer.use_pass_z and view_layer.use_pass_object_index
    assert setup.has_setup(small_scene)
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    after = snapshot_scene(small_scene)
    if not IS_5:
        # Blender keeps the node tree it created for use_nodes; the compositor is off again.
        before.pop("tree"), after.pop("tree")
        before.pop("tree_content"), after.pop("tree_content")
    assert after == before


def _add_user_blur(tree):
    """Nodes of the user's in a tree: their Render Layers (4.x has one) -> a Blur."""
    owned = set(setup.OWNED_NODES)
    layers = next(
        (n for n in tree.nodes if n.bl_idname == "CompositorNodeRLayers" and n.name not in owned),
        None,
    ) or tree.nodes.new("CompositorNodeRLayers")
    blur = tree.nodes.new("CompositorNodeBlur")
    blur.name = "My Blur"
    tree.links.new(layers.outputs["Image"], blur.inputs[0])
    return blur


def test_removal_keeps_a_tree_it_created_once_the_user_added_nodes_to_it(small_scene):
    view_layer = small_scene.view_layers[0]
    passes_before = {name: getattr(view_layer, name) for name in setup.ALL_PASSES}
    assert compat.get_tree(small_scene) is None
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    tree = compat.get_tree(small_scene)
    blur = _add_user_blur(tree)
    expected = {n.name for n in tree.nodes} - set(setup.OWNED_NODES)
    assert blur.name in expected

    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    # The tree is the user's now: it stays the scene's compositor, with their node linked.
    assert compat.get_tree(small_scene) == tree
    assert {n.name for n in tree.nodes} == expected
    assert tree.nodes["My Blur"].inputs[0].is_linked
    assert {name: getattr(view_layer, name) for name in setup.ALL_PASSES} == passes_before
    assert not setup.has_setup(small_scene)
    assert small_scene.ground_truth.compositor_record == ""


def test_removal_of_a_tree_it_created_with_no_user_nodes_left_undoes_it(small_scene):
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    tree = compat.get_tree(small_scene)
    created_with = {n.name for n in tree.nodes}
    _add_user_blur(tree)
    for node in [n for n in tree.nodes if n.name not in created_with]:
        tree.nodes.remove(node)  # added and taken away again: nothing of the user's is left
    name = tree.name
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert compat.get_tree(small_scene) is None
    if IS_5:
        assert name not in bpy.data.node_groups


def test_removal_by_an_earlier_versions_record_keeps_the_users_nodes_too(small_scene):
    # Earlier versions recorded only that they created the tree, not what it held then.
    setup_from_settings(small_scene)
    settings = small_scene.ground_truth
    record = json.loads(settings.compositor_record)
    settings.compositor_record = json.dumps({k: record[k] for k in ("created_tree", "passes")})
    tree = compat.get_tree(small_scene)
    _add_user_blur(tree)
    setup.remove_compositor(small_scene)
    assert compat.get_tree(small_scene) == tree
    assert "My Blur" in tree.nodes and not setup.has_setup(small_scene)


@pytest.mark.skipif(not IS_5, reason="4.x scenes hold their one tree themselves")
def test_removal_leaves_a_tree_the_user_put_in_place_of_the_one_it_created(small_scene):
    setup_from_settings(small_scene)
    created = compat.get_tree(small_scene)
    created_name = created.name
    user_tree = bpy.data.node_groups.new("User Compositing", "CompositorNodeTree")
    user_tree.nodes.new("CompositorNodeRLayers").name = "User Layers"
    small_scene.compositing_node_group = user_tree
    before = snapshot_tree(user_tree)

    setup.remove_compositor(small_scene)
    assert small_scene.compositing_node_group == user_tree
    assert user_tree.name in bpy.data.node_groups
    assert snapshot_tree(user_tree) == before
    # The tree it created, which still holds its nodes, is left for Blender to drop.
    assert bpy.data.node_groups.get(created_name) == created


def test_cancelled_render_restores_settings_and_keeps_finished_frames(small_scene, out_dir):
    small_scene.render.engine = "BLENDER_WORKBENCH"
    small_scene.frame_current = 2
    before = snapshot_scene(small_scene)
    seen = []

    def progress(done, total, frame):
        seen.append(frame)
        if done == 1:
            raise pipeline.RenderCancelledError

    report = pipeline.render_ground_truth(
        small_scene, [1, 2, 3], use_cycles=True, progress=progress
    )
    assert report.cancelled and report.frames == [1] and seen == [1, 2]
    assert snapshot_scene(small_scene) == before
    assert sorted(os.listdir(out_dir / "depth")) == ["000001.exr"]
    # dataset.json and COCO list exactly the finished frame.
    assert json.loads((out_dir / "dataset.json").read_text())["frames"] == [1]
    coco = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    assert [image["id"] for image in coco["images"]] == [1]
    assert {a["image_id"] for a in coco["annotations"]} == {1}


def test_failed_render_restores_settings(small_scene, out_dir):
    build_user_tree(small_scene, out_dir.parent)
    small_scene.frame_current = 3
    before = snapshot_scene(small_scene)

    def progress(done, total, frame):
        if done == 1:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline.render_ground_truth(small_scene, [1, 2], progress=progress)
    assert snapshot_scene(small_scene) == before


def test_saved_setup_makes_a_plain_animation_render_write_the_raw_passes(small_scene, tmp_path):
    blend = tmp_path / "farm scene.blend"
    small_scene.ground_truth.output_dir = "//ground truth/"
    small_scene.frame_end = 2
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    bpy.ops.wm.save_mainfile()

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    scene.render.filepath = str(tmp_path / "plain" / "")
    bpy.ops.render.render(animation=True)  # what `blender -b file.blend -a` does

    root = tmp_path / "ground truth"
    raw = sorted(os.listdir(root / ".raw"))
    # The passes and the image's uncompressed copy: finalize makes every file from them.
    assert raw == ["000001.bmp", "000001.exr", "000002.bmp", "000002.exr"]
    assert sorted(os.listdir(root)) == [".raw"]


def _add_setup_of_an_earlier_version(tree, root):
    """The nodes an earlier version's setup had: a File Output node writing the RGB PNG
    into ``rgb/`` itself, and the image copy under the preview's name, muted."""
    frame = tree.nodes[setup.FRAME_NODE]
    tree.nodes[setup.IMAGE_NODE].name = "Ground Truth Preview Image"
    tree.nodes["Ground Truth Preview Image"].mute = True
    old = tree.nodes.new("CompositorNodeOutputFile")
    old.name = "Ground Truth RGB Output"
    old.parent = frame
    compat.configure_file_output(old, root + "rgb/", "", [("######", "RGBA")], "PNG", "8")
    image = tree.nodes[setup.RENDER_LAYERS_NODE].outputs[compat.RENDER_LAYER_SOCKETS["image"]]
    tree.links.new(image, compat.file_output_input(old, 0, "######"))


def test_a_farm_render_of_an_earlier_versions_setup_keeps_its_rgb_pngs(small_scene, tmp_path):
    from ground_truth.dataset import reader
    from ground_truth.render import finalize

    blend = tmp_path / "old setup.blend"
    small_scene.ground_truth.output_dir = "//ground truth/"
    small_scene.frame_end = 2
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    tree = setup_from_settings(small_scene)
    _add_setup_of_an_earlier_version(tree, "//ground truth/")
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    scene.render.filepath = str(tmp_path / "plain" / "")
    bpy.ops.render.render(animation=True)  # the farm, with the old setup

    root = tmp_path / "ground truth"
    written = {name: (root / "rgb" / name).read_bytes() for name in os.listdir(root / "rgb")}
    assert sorted(written) == ["000001.png", "000002.png"]
    report = finalize.finalize(scene, str(root))
    assert report.frames == [1, 2] and not report.damaged
    assert {name: (root / "rgb" / name).read_bytes() for name in written} == written
    assert reader.load_frame(root, 2)["rgb"].shape == (24, 32, 3)


def test_an_earlier_versions_rgb_and_preview_nodes_are_replaced_and_removed(small_scene, tmp_path):
    tree = build_user_tree(small_scene, tmp_path)  # the user's: it stays after removal
    setup_from_settings(small_scene)
    _add_setup_of_an_earlier_version(tree, small_scene.ground_truth.output_dir)
    user = tree.nodes.new("CompositorNodeOutputFile")
    user.name = "Ground Truth RGB Output.001"  # not in the frame: the user's own

    setup_from_settings(small_scene)
    names = {node.name for node in tree.nodes}
    assert not {"Ground Truth RGB Output", "Ground Truth Preview Image"} & names
    assert setup.IMAGE_NODE in names and not tree.nodes[setup.IMAGE_NODE].mute

    _add_setup_of_an_earlier_version(tree, small_scene.ground_truth.output_dir)
    assert setup.remove_compositor(small_scene)
    assert [node.name for node in tree.nodes if node.name.startswith("Ground Truth")] == [
        "Ground Truth RGB Output.001"
    ]


def test_raw_exr_holds_depth_and_indices_in_three_channels(small_scene, out_dir):
    from ground_truth.codecs import exr
    from ground_truth.dataset import layout

    small_scene.ground_truth.output_part = True
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    small_scene.frame_set(1)
    bpy.ops.render.render(write_still=False, layer=small_scene.view_layers[0].name)
    channels = exr.read_exr(layout.raw_path(layout.raw_folder(out_dir), 1))
    assert sorted(channels) == ["Raw.X", "Raw.Y", "Raw.Z"]
    assert all(values.dtype == "float32" for values in channels.values())
    box_id = small_scene.objects["Box"].pass_index
    # The camera (z = 5) looks straight down at the box's top (z = 1) at the image centre.
    centre = tuple(size // 2 for size in channels["Raw.X"].shape)
    assert channels["Raw.X"][centre] == pytest.approx(4.0, abs=1e-4)
    assert box_id > 0 and channels["Raw.Y"][centre] == box_id
    assert channels["Raw.Z"][centre] == 0.0  # the box's material has no part ID


def test_without_the_part_map_the_raw_material_channel_says_so(small_scene, out_dir):
    from ground_truth.codecs import exr
    from ground_truth.dataset import layout

    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert not small_scene.view_layers[0].use_pass_material_index
    small_scene.frame_set(1)
    bpy.ops.render.render(write_still=False, layer=small_scene.view_layers[0].name)
    channels = exr.read_exr(layout.raw_path(layout.raw_folder(out_dir), 1))
    assert sorted(channels) == ["Raw.X", "Raw.Y", "Raw.Z"]
    assert (channels["Raw.Z"] == layout.NO_MATERIAL_INDEX).all()
    centre = tuple(size // 2 for size in channels["Raw.Y"].shape)
    assert channels["Raw.Y"][centre] == small_scene.objects["Box"].pass_index


def test_setup_of_an_earlier_version_is_updated_in_place(small_scene, out_dir):
    # Earlier versions packed the raw passes with Combine Color (R, G, B and an unused A).
    tree = setup_from_settings(small_scene)
    frame = tree.nodes[setup.FRAME_NODE]
    tree.nodes.remove(tree.nodes[setup.PACK_NODE])
    old = tree.nodes.new("CompositorNodeCombineColor")
    old.name = setup.PACK_NODE
    old.parent = frame
    tree.links.new(old.outputs[0], compat.file_output_input(tree.nodes[setup.RAW_NODE], 0, "Raw"))
    # A user's node of that type and name outside the frame is theirs.
    user = tree.nodes.new("CompositorNodeCombineColor")
    user.name = "Mine"

    setup_from_settings(small_scene)
    pack = tree.nodes[setup.PACK_NODE]
    assert pack.bl_idname == compat.COMBINE_XYZ_NODE and pack.parent == frame
    assert not [n for n in tree.nodes if n.name.endswith("(user)")]
    assert tree.nodes.get("Mine") is not None
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert (out_dir / "instance" / "000001.png").exists()


def test_a_failing_restore_step_does_not_stop_the_others_and_is_reported(
    small_scene, out_dir, monkeypatch
):
    small_scene.render.engine = "BLENDER_WORKBENCH"
    small_scene.cycles.samples = 7
    small_scene.frame_current = 2
    remove = session.setup.remove_compositor

    def broken(scene):
        raise RuntimeError("tree locked")

    # Removing the compositor nodes is undone before the samples, engine and frame are.
    monkeypatch.setattr(session.setup, "remove_compositor", broken)
    with pytest.raises(GroundTruthError, match=r"could not put back.*tree locked"):
        pipeline.render_ground_truth(small_scene, [1], use_cycles=True, samples=3)
    assert small_scene.render.engine == "BLENDER_WORKBENCH"
    assert small_scene.cycles.samples == 7 and small_scene.frame_current == 2
    assert json.loads((out_dir / "dataset.json").read_text())["frames"] == [1]
    remove(small_scene)
