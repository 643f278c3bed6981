"""Camera geometry without Blender: intrinsics and extrinsics, 3D boxes, pixel rays."""
