"""Camera geometry without Blender: intrinsics and extrinsics, 3D boxes, rigid transforms,
and triangles rasterised at Cycles' first-sample positions."""
