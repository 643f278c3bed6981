"""Label maths without Blender: instance ID planning, raw passes to label maps, copies
told apart, boxes and pixel counts."""
