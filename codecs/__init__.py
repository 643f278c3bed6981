"""File codecs without Blender: PNG, OpenEXR, BMP, COCO's RLE, depth in millimetres,
and atomic writes (a reader never sees half a file)."""
