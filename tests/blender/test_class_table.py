"""The class table as a file (Export Classes, Import Classes), its stuff flags, and class
IDs kept unique wherever classes are set, with what the user reads at each step."""

import json

import bpy
import pytest

from ground_truth.dataset.description import hex_color
from ground_truth.errors import GroundTruthError
from ground_truth.scene import classes

from helpers import add_box, add_camera, label, new_class, select_only
from panel_recorder import LABELLING, MAIN, button, draw_all, labels, reports


def table(scene):
    return [(c.id, c.name, hex_color(c.color), c.stuff) for c in scene.ground_truth.classes]


def snapshot(scene):
    return table(scene), {
        ob.name: (ob.ground_truth.class_id, ob.pass_index) for ob in scene.objects
    }


@pytest.fixture
def labelled(scene):
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    road = add_box(scene, "Road", (0.0, 0.0, -1.0), (9.0, 9.0, 0.1))
    label([car], "Car").color = (1.0, 0.0, 0.0)
    label([road], "Road").color = (0.0, 0.0, 1.0)
    scene.ground_truth.classes[1].stuff = True
    return scene


def write(path, document):
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def test_export_writes_the_documented_schema(labelled, tmp_path, capfd):
    path = tmp_path / "classes.json"
    reports(capfd)
    labelling = draw_all(labelled)[LABELLING]
    assert button(labelling, "Export Classes...")["enabled"]
    assert bpy.ops.ground_truth.export_classes(filepath=str(path)) == {"FINISHED"}
    assert reports(capfd) == [f"Info: Exported 2 class(es) to {path}"]
    assert json.loads(path.read_text()) == {
        "format": "ground_truth.classes",
        "version": 1,
        "classes": [
            {"id": 1, "name": "Car", "color": "#ff0000", "stuff": False},
            {"id": 2, "name": "Road", "color": "#0000ff", "stuff": True},
        ],
    }


def test_export_needs_classes(scene):
    labelling = draw_all(scene)[LABELLING]
    assert button(labelling, "Export Classes...")["reason"] == "No classes to export"


def test_import_into_an_empty_scene_then_merge_by_id(scene, tmp_path, capfd):
    first = write(
        tmp_path / "first.json",
        {
            "format": "ground_truth.classes",
            "version": 1,
            "classes": [
                {"id": 3, "name": "Tree", "color": "#00ff00", "stuff": False},
                {"id": 1, "name": "Car", "color": "#ff0000"},
                {"id": 7, "name": "Sky", "stuff": True},
            ],
        },
    )
    reports(capfd)
    assert bpy.ops.ground_truth.import_classes(filepath=first) == {"FINISHED"}
    assert reports(capfd) == [
        "Info: Read 3 class(es) from first.json: added 3 'Tree', 1 'Car', 7 'Sky'"
    ]
    sky = scene.ground_truth.classes[2]
    assert table(scene) == [
        (3, "Tree", "#00ff00", False),
        (1, "Car", "#ff0000", False),
        (7, "Sky", hex_color(sky.color), True),  # no colour in the file: the ID's own
    ]
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    select_only([box])
    bpy.ops.ground_truth.assign_class(class_id=1)

    # The same IDs again: renamed, recoloured, marked; classes not in the file stay.
    second = write(
        tmp_path / "second.json",
        [
            {"id": 1, "name": "Vehicle", "color": "#ff0000"},
            {"id": 3, "name": "Tree", "color": "#008000", "stuff": True},
            {"id": 9, "name": "Car"},
        ],
    )
    reports(capfd)
    assert bpy.ops.ground_truth.import_classes(filepath=second) == {"FINISHED"}
    assert reports(capfd) == [
        "Info: Read 3 class(es) from second.json: added 9 'Car'; renamed class 1 'Car' to "
        "'Vehicle'; updated 3 'Tree' (colour, stuff)"
    ]
    assert [(i, n) for i, n, _c, _s in table(scene)] == [
        (3, "Tree"),
        (1, "Vehicle"),
        (7, "Sky"),
        (9, "Car"),
    ]
    assert box.ground_truth.class_id == 1  # the object kept its class, now named Vehicle


def test_import_reads_a_dataset_json_and_coco_categories(labelled, tmp_path, out_dir):
    add_camera(labelled)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    exported = table(labelled)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    assert bpy.ops.ground_truth.import_classes(filepath=str(out_dir / "dataset.json"))
    assert [t[:3] for t in table(scene)] == [t[:3] for t in exported]

    coco = write(
        tmp_path / "coco.json",
        {"categories": [{"id": 5, "name": "person", "supercategory": "human"}], "images": []},
    )
    assert bpy.ops.ground_truth.import_classes(filepath=coco) == {"FINISHED"}
    assert (5, "person") in [t[:2] for t in table(scene)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "Not a JSON file: Expecting property name enclosed in double quotes at "
            "line 1, column 2",
        ),
        (
            {"classes": [{"id": 1, "name": "A"}, {"id": 1, "name": "B"}]},
            "ID 1 is used twice in the file: 'A' and 'B'",
        ),
        (
            {"classes": [{"id": 1, "name": "A"}, {"id": 2, "name": "A"}]},
            "The name 'A' is used twice in the file: IDs 1 and 2",
        ),
        ([{"id": 0, "name": "A"}], "Class 1 in the file has ID 0, out of range (1 to 32767)"),
        ([{"id": 40000, "name": "A"}], "has ID 40000, out of range"),
        ([{"id": "1", "name": "A"}], "Class 1 in the file has no integer 'id' (got '1')"),
        ([{"id": True, "name": "A"}], "has no integer 'id' (got True)"),
        ([{"id": 2, "name": " "}], "Class 1 in the file (ID 2) has no name"),
        (
            [{"id": 2, "name": "A", "color": "red"}],
            "Class 2 'A' in the file has the colour 'red': write it as \"#rrggbb\"",
        ),
        ([{"id": 2, "name": "A", "color": [1.0, 2.0, 0.0]}], "has the colour [1.0, 2.0, 0.0]"),
        ([{"id": 2, "name": "A", "stuff": "yes"}], "has 'stuff': 'yes', not true or false"),
        ({"images": []}, "No class table in the file"),
        ([], "The file's class table is empty"),
        # A name this scene gives another ID: two classes would share it.
        (
            [{"id": 5, "name": "Car"}],
            "The file names a class 'Car', but class 1 here is also "
            "'Car' (IDs 1 and 5): rename one of them first",
        ),
    ],
)
def test_bad_files_are_refused_with_the_reason_and_nothing_changes(
    labelled, tmp_path, content, message
):
    path = write(tmp_path / "bad.json", content)
    before = snapshot(labelled)
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.ground_truth.import_classes(filepath=path)
    assert message in str(raised.value)
    assert "bad.json: " in str(raised.value) and "Nothing was imported" in str(raised.value)
    assert snapshot(labelled) == before


def test_a_missing_file_is_refused(scene, tmp_path):
    with pytest.raises(RuntimeError, match=r"Could not read .*missing\.json"):
        bpy.ops.ground_truth.import_classes(filepath=str(tmp_path / "missing.json"))


def test_stuff_is_set_below_the_list_for_the_selected_class(labelled):
    main = draw_all(labelled)[MAIN]
    (field,) = [e for e in main if e.get("property") == "stuff"]
    assert field["data"] == labelled.ground_truth.classes[1]  # Road, the selected class
    assert labelled.ground_truth.classes[1].stuff is True


def test_duplicate_class_ids_set_from_python_are_caught_everywhere(labelled, out_dir):
    add_camera(labelled)
    settings = labelled.ground_truth
    settings.classes[1].id = 1  # a script gives Road the ID of Car
    message = "Class ID 1 is used by 'Car' and 'Road': class IDs must be unique"
    assert (
        f"{message}. Remove one of them or give it another ID",
        "ERROR",
    ) in labels(draw_all(labelled)[MAIN])
    before = snapshot(labelled)
    select_only([labelled.objects["Car"]])
    export = {"filepath": str(out_dir.parent / "classes.json")}
    for call, kwargs in (
        (bpy.ops.ground_truth.assign_class, {}),
        (bpy.ops.ground_truth.clear_class, {}),
        (bpy.ops.ground_truth.export_classes, export),
        (bpy.ops.ground_truth.render, {}),
    ):
        with pytest.raises(RuntimeError, match=message):
            call(**kwargs)
    assert snapshot(labelled) == before and not out_dir.exists()
    # Removing one of the two is a way out; the objects keep their class ID.
    settings.active_class_index = 1
    assert bpy.ops.ground_truth.remove_class() == {"FINISHED"}
    # Car keeps class 1; Road's class 2 no longer exists since the script renumbered it.
    assert snapshot(labelled)[1]["Car"] == before[1]["Car"] == (1, 1)
    assert snapshot(labelled)[1]["Road"] == (2, 0)
    assert [(c.id, c.name) for c in settings.classes] == [(1, "Car")]
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    new_class("Road")
    with pytest.raises(GroundTruthError, match="Class ID 2 is already used by 'Road'"):
        classes.add_class(labelled, "Bus", class_id=2)


def test_adding_a_class_takes_the_smallest_free_id_around_imported_ones(scene, tmp_path):
    path = write(tmp_path / "c.json", [{"id": 1, "name": "A"}, {"id": 3, "name": "C"}])
    bpy.ops.ground_truth.import_classes(filepath=path)
    new_class("B")
    assert [(c.id, c.name) for c in scene.ground_truth.classes] == [(1, "A"), (3, "C"), (2, "B")]
