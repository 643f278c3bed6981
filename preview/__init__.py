"""Preview pictures without Blender: colour maps, a bitmap font, the side-by-side picture."""
