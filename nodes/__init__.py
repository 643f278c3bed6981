"""Compositor setup: the only place that knows the 4.x and 5.0 node APIs (see compat)."""


def register():
    pass


def unregister():
    pass
