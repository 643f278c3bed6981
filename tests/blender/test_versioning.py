"""Settings saved by earlier versions of the extension are brought up to date on load."""

import bpy

from ground_truth import versioning


def test_a_file_saved_with_the_old_setting_name_loads_with_the_new_one(scene, tmp_path):
    settings = scene.ground_truth
    # What version 0.1 stored for a ticked Visible Fraction (then named output_occlusion).
    settings["output_occlusion"] = 1
    assert settings.output_visible_fraction is False
    path = str(tmp_path / "old.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    settings = bpy.context.scene.ground_truth
    assert settings.output_visible_fraction is True
    assert settings.get("output_occlusion") is None
    # Migrating again finds nothing to move.
    assert versioning.migrate_settings(settings) == []


def test_an_unticked_old_setting_stays_off(scene):
    settings = scene.ground_truth
    settings.output_visible_fraction = True
    settings["output_occlusion"] = 0
    assert versioning.migrate_settings(settings) == ["output_occlusion"]
    assert settings.output_visible_fraction is False
