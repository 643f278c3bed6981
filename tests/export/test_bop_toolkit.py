"""The BOP toolkit reads the BOP export of a real render, and reads back the render's truth.

The toolkit's own readers (``bop_toolkit_lib.inout``: ``load_scene_camera``,
``load_scene_gt``, ``load_json``, ``load_ply``, ``load_depth``, ``load_im``) and geometry
(``misc.project_pts``, ``calc_pts_diameter``, ``calc_3d_bbox``, ``calc_2d_bbox``) come from
``../shared/consumers/bop_toolkit`` (unchanged copies of github.com/thodan/bop_toolkit);
they need imageio, pypng and scipy (``tools/consumers.sh``). What they read is compared
with the dataset's own files, read through the dataset reader.
"""

import os
import sys

import numpy as np
import pytest
from export_helpers import load_json

from ground_truth.dataset.reader import load_frame

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLKIT = os.path.join(os.path.dirname(REPO), "shared", "consumers", "bop_toolkit")


@pytest.fixture(scope="module")
def toolkit():
    if not os.path.isdir(os.path.join(TOOLKIT, "bop_toolkit_lib")):
        pytest.skip(
            f"the BOP toolkit's readers are not in {TOOLKIT} (they come with the project's "
            "shared folder, not with a clone of the repository)"
        )
    for module in ("imageio", "png", "scipy"):
        pytest.importorskip(module, reason=f"the BOP toolkit needs {module} (tools/consumers.sh)")
    if TOOLKIT not in sys.path:
        sys.path.insert(0, TOOLKIT)
    from bop_toolkit_lib import inout, misc

    return inout, misc


@pytest.fixture(scope="module")
def exported(rendered_bop, tmp_path_factory):
    from ground_truth.export import export_dataset

    folder = tmp_path_factory.mktemp("bop-export") / "bop"
    export_dataset(rendered_bop, str(folder), "bop")
    return str(folder)


def scene_folder(exported):
    return os.path.join(exported, "train", "000000")


def grown(mask):
    """The mask grown by one pixel (8-neighbourhood)."""
    padded = np.pad(mask, 1)
    result = np.zeros_like(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            result |= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return result


def surface_points(model):
    """A model's vertices and 6 points inside each of its triangles (a sharp tip's vertex
    alone may lie more than a pixel from the nearest pixel centre its spike covers)."""
    corners = model["pts"][model["faces"].astype(int)]
    weights = np.array([[4, 1, 1], [1, 4, 1], [1, 1, 4], [2, 2, 1], [2, 1, 2], [1, 2, 2]])
    weights = weights / weights.sum(axis=1, keepdims=True)
    inner = np.einsum("wk,tkd->twd", weights, corners).reshape(-1, 3)
    return np.concatenate([model["pts"], inner])


def read_scene(toolkit, exported):
    inout, _ = toolkit
    folder = scene_folder(exported)
    return (
        inout.load_scene_camera(os.path.join(folder, "scene_camera.json")),
        inout.load_scene_gt(os.path.join(folder, "scene_gt.json")),
        inout.load_json(os.path.join(folder, "scene_gt_info.json"), keys_to_int=True),
        load_json(os.path.join(exported, "ground-truth-bop.json")),
    )


def truth(rendered_bop, frame):
    return load_frame(rendered_bop, frame, keys=("instance", "depth", "meta", "amodal"))


def test_masks_and_depth_are_the_renders(toolkit, rendered_bop, exported):
    inout, _ = toolkit
    cameras, scene_gt, _, mapping = read_scene(toolkit, exported)
    folder = scene_folder(exported)
    assert sorted(cameras) == sorted(scene_gt) == [0, 1, 2]
    masks = 0
    for im_id, image in ((int(k), v) for k, v in mapping["images"].items()):
        sample = truth(rendered_bop, image["frame"])
        assert len(scene_gt[im_id]) == len(image["instances"])
        for gt_id, ident in enumerate(image["instances"]):
            name = f"{im_id:06d}_{gt_id:06d}.png"
            mask = inout.load_im(os.path.join(folder, "mask", name))
            visible = inout.load_im(os.path.join(folder, "mask_visib", name))
            assert set(np.unique(mask)) <= {0, 255} and set(np.unique(visible)) <= {0, 255}
            np.testing.assert_array_equal(mask == 255, sample["amodal"][ident])
            np.testing.assert_array_equal(visible == 255, sample["instance"] == ident)
            masks += 1
        depth = inout.load_depth(os.path.join(folder, "depth", f"{im_id:06d}.png"))
        scale = cameras[im_id]["depth_scale"]
        millimetres = sample["depth"].astype(np.float64) * 1000.0
        seen = np.isfinite(millimetres)
        assert (depth[~seen] == 0).all() and (depth[seen] > 0).all()
        error = np.abs(depth[seen] * scale - millimetres[seen])
        assert error.max() <= scale / 2 + 1e-3
        image_path = os.path.join(folder, "rgb", f"{im_id:06d}.png")
        np.testing.assert_array_equal(
            inout.load_im(image_path)[..., :3],
            load_frame(rendered_bop, image["frame"], keys=("rgb",))["rgb"],
        )
    assert masks >= 12
    camera = inout.load_cam_params(os.path.join(exported, "camera.json"))
    assert camera["depth_scale"] == mapping["depth_scale"]
    np.testing.assert_allclose(camera["K"], cameras[0]["cam_K"])


def test_models_project_onto_their_masks(toolkit, rendered_bop, exported):
    inout, misc = toolkit
    cameras, scene_gt, _, mapping = read_scene(toolkit, exported)
    folder = scene_folder(exported)
    models = {}
    checked = 0
    for im_id, gts in scene_gt.items():
        height, width = truth(rendered_bop, mapping["images"][str(im_id)]["frame"])[
            "instance"
        ].shape
        for gt_id, gt in enumerate(gts):
            rotation, translation = gt["cam_R_m2c"], gt["cam_t_m2c"]
            np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
            assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-9)
            path = os.path.join(exported, "models", f"obj_{gt['obj_id']:06d}.ply")
            if path not in models:
                models[path] = surface_points(inout.load_ply(path))
            points = models[path]
            in_front = (points @ rotation.T + translation.T)[:, 2] > 1.0
            uv = misc.project_pts(points[in_front], cameras[im_id]["cam_K"], rotation, translation)
            # cam_K puts pixel centres at integers: the pixel of a point is its rounded uv.
            columns, rows = np.floor(uv + 0.5).astype(int).T
            inside = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
            mask = inout.load_im(os.path.join(folder, "mask", f"{im_id:06d}_{gt_id:06d}.png"))
            hits = grown(mask == 255)[rows[inside], columns[inside]]
            assert inside.sum() >= 10 and hits.mean() > 0.99, (im_id, gt_id, hits.mean())
            checked += 1
    assert checked >= 12


def test_gt_info_counts_the_renders_pixels(toolkit, rendered_bop, exported):
    inout, misc = toolkit
    _, scene_gt, gt_info, mapping = read_scene(toolkit, exported)
    folder = scene_folder(exported)
    truncated = 0
    for im_id, infos in gt_info.items():
        image = mapping["images"][str(im_id)]
        sample = truth(rendered_bop, image["frame"])
        entries = {i["id"]: i for i in sample["meta"]["instances"]}
        depth = inout.load_depth(os.path.join(folder, "depth", f"{im_id:06d}.png"))
        assert len(infos) == len(scene_gt[im_id])
        for gt_id, (info, ident) in enumerate(zip(infos, image["instances"], strict=True)):
            entry = entries[ident]
            amodal = sample["amodal"][ident]
            visible = sample["instance"] == ident
            assert info["px_count_visib"] == visible.sum()
            assert info["px_count_valid"] == (depth[amodal] > 0).sum()
            assert info["visib_fract"] == pytest.approx(
                info["px_count_visib"] / info["px_count_all"]
            )
            # The whole silhouette, also beyond the border: Ground Truth's truncation.
            whole = amodal.sum() / (1.0 - entry["truncation"])
            assert abs(info["px_count_all"] - whole) <= 1.0 + 1e-5 * whole, (im_id, gt_id)
            assert info["visib_fract"] == pytest.approx(
                entry["visible_fraction"] * (1.0 - entry["truncation"]), abs=1e-3
            )
            if not visible.any():
                assert info["bbox_obj"] == info["bbox_visib"] == [-1, -1, -1, -1]
                continue
            rows, columns = np.nonzero(visible)
            assert info["bbox_visib"] == [int(v) for v in misc.calc_2d_bbox(columns, rows)]
            rows, columns = np.nonzero(amodal)
            inside = [int(v) for v in misc.calc_2d_bbox(columns, rows)]
            if entry["truncation"] == 0.0:
                assert info["bbox_obj"] == inside
            else:
                truncated += 1
                x, y, w, h = info["bbox_obj"]
                assert x <= inside[0] and y <= inside[1]
                assert x + w >= inside[0] + inside[2] and y + h >= inside[1] + inside[3]
                assert x < 0 or y < 0 or x + w >= amodal.shape[1] or y + h >= amodal.shape[0]
    assert truncated >= 3


def test_models_info_and_objects(toolkit, rendered_bop, exported):
    inout, misc = toolkit
    info = inout.load_json(os.path.join(exported, "models", "models_info.json"), keys_to_int=True)
    mapping = load_json(os.path.join(exported, "ground-truth-bop.json"))
    assert sorted(info) == [o["obj_id"] for o in mapping["obj_ids"]]
    for obj_id, entry in info.items():
        points = inout.load_ply(os.path.join(exported, "models", f"obj_{obj_id:06d}.ply"))["pts"]
        assert entry["diameter"] == pytest.approx(misc.calc_pts_diameter(points), rel=1e-9)
        box = misc.calc_3d_bbox(points[:, 0], points[:, 1], points[:, 2])
        found = [entry[k] for k in ("min_x", "min_y", "min_z", "size_x", "size_y", "size_z")]
        np.testing.assert_allclose(found, box, atol=1e-6)
        # BOP's model frame: the origin at the centre of the model's box.
        np.testing.assert_allclose(np.array(box[:3]) + np.array(box[3:]) / 2, 0.0, atol=1e-3)
    objects = {o["class"]: o for o in mapping["obj_ids"]}
    # The cone and the cone drawing its mesh are one object; the floor (stuff) is none.
    assert objects["Cone"]["objects"] == ["Cone", "Cone Twin"]
    assert "Floor" not in objects
    # The cube's uneven scale is in its model: 1.3 x 0.7 x 1 m.
    cube = info[objects["Box"]["obj_id"]]
    np.testing.assert_allclose(
        [cube["size_x"], cube["size_y"], cube["size_z"]], [1300.0, 700.0, 1000.0], atol=1e-3
    )
    # The torus and its parented handle are one model, wider than the torus alone.
    torus = info[objects["Torus Ring"]["obj_id"]]
    assert torus["size_x"] > 2 * (450 + 110) + 100
