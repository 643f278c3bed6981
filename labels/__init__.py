"""Label maths without Blender: instance ID planning, raw passes to label maps, copies
told apart, amodal silhouettes, object models, boxes and pixel counts."""
