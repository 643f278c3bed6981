"""The README's "Using it" walks through the panels: every name it sets in bold (a panel,
a button, a field, a heading) must be drawn with exactly that text. The walk-through is
scripted step by step, as a user follows it, from Blender's startup file."""

import os
import re
import tempfile

import bpy
import pytest

from helpers import add_box, select_only
from panel_recorder import draw_all, texts

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Bold words of the section that are emphasis, not names on screen.
NOT_ON_SCREEN = {"resumes"}


def using_it():
    """The text of the README's "## Using it" section (its sub-sections included)."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as file:
        readme = file.read()
    start = readme.index("\n## Using it\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def bold_names(text):
    """``**...**`` spans, with line breaks inside them read as spaces."""
    return {" ".join(name.split()) for name in re.findall(r"\*\*(.+?)\*\*", text, re.DOTALL)}


def test_the_section_names_buttons():
    names = bold_names(using_it())
    assert {"Render Ground Truth", "Render Frame Range", 'Assign "Car" to Selected'} <= names


@pytest.fixture
def walkthrough(tmp_path, monkeypatch):
    """Every text the panels draw while the README's steps are followed."""
    (tmp_path / "temp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    bpy.ops.wm.read_factory_settings(use_empty=False)
    scene = bpy.context.scene
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    scene.render.resolution_percentage = 100
    seen = set()

    def look(active=None):
        logs = draw_all(scene, active_object=active)
        seen.update(texts(logs))
        return logs

    cube = scene.objects["Cube"]
    look(cube)  # the startup file: where an unsaved file writes
    # 1. + adds a class; double-click renames it to Car.
    bpy.ops.ground_truth.add_class()
    bpy.ops.ground_truth.rename_class(name="Car")
    # 2. Assign "Car" to Selected; a child shows the instance it renders into.
    body = add_box(scene, "Body", (3.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    wheel = add_box(scene, "Wheel", (3.0, 0.0, -0.6), (0.3, 0.3, 0.3), parent=body)
    select_only([cube, body])
    look(cube)
    bpy.ops.ground_truth.assign_class()
    assert "1  Car (part of Body)" in texts(look(wheel))
    # 3. Labelling: two objects selected, the active one holding the instance.
    select_only([cube, wheel])
    look(cube)
    # 4. Viewport colours, both kinds, shown and hidden.
    for mode in ("CLASS", "INSTANCE"):
        bpy.ops.ground_truth.preview_colors(enable=True, mode=mode)
        look()
    bpy.ops.ground_truth.preview_colors(enable=False)
    # 6. Render, then the summary and Open Folder.
    assert bpy.ops.ground_truth.render(use_cycles=True) == {"FINISHED"}
    look()
    return seen


def test_every_name_the_readme_sets_in_bold_is_drawn_with_that_text(walkthrough):
    missing = sorted(bold_names(using_it()) - NOT_ON_SCREEN - walkthrough)
    assert missing == []
