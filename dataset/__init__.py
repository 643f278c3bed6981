"""The dataset format without Blender: its layout on disk, the outputs it can hold,
dataset.json, per-frame meta and records, COCO, amodal files, object models, and the
reader training code uses."""
