"""Blender-free helpers: file formats, colours, ID planning and naming."""
