"""Camera intrinsics and extrinsics matching Blender's (and Cycles') camera model.

Image coordinates
-----------------
``K`` maps camera-frame points to *continuous* image coordinates ``(u, v)`` in pixels
with the **top-left corner of the image at (0, 0)**, ``u`` growing to the right and
``v`` growing down. The centre of pixel ``(row, column)`` is at
``(u, v) = (column + 0.5, row + 0.5)``; pixel ``(row, column)`` covers
``column <= u < column + 1`` and ``row <= v < row + 1``. To get the integer pixel a
point falls in, use ``floor(u), floor(v)`` (not ``round``).

Camera axes
-----------
Blender's camera looks along its local ``-z`` with ``+y`` up and ``+x`` right. The
extrinsics written by Ground Truth use the OpenCV convention: ``x`` right, ``y`` down,
``z`` forward (into the scene). The two differ by the fixed flip
``diag(1, -1, -1, 1)`` (:func:`opencv_from_blender_camera`).

Blender's camera model (``BKE_camera_params_compute_viewplane``; Cycles agrees)
-----------------------------------------------------------------------------
- The *fit* direction is horizontal for sensor fit ``HORIZONTAL``, vertical for
  ``VERTICAL``, and for ``AUTO`` horizontal when ``res_x * pixel_aspect_x >=
  res_y * pixel_aspect_y`` (the wider side of the frame after pixel aspect), else
  vertical.
- The sensor size along the fit direction is ``sensor_height`` for sensor fit
  ``VERTICAL`` and ``sensor_width`` otherwise (so ``AUTO`` always uses the width,
  even when it fits vertically). Orthographic cameras use ``ortho_scale`` (in scene
  units) instead of ``sensor / lens``.
- Pixels are ``pixel_aspect_y / pixel_aspect_x`` times taller than wide, so
  ``fy = fx * pixel_aspect_x / pixel_aspect_y``.
- ``shift_x`` and ``shift_y`` are fractions of the frame's extent along the fit
  direction (its width for a horizontal fit, its height for a vertical fit), in the
  frame's shape after pixel aspect. A positive ``shift_x`` moves the view right (so
  the principal point moves left), a positive ``shift_y`` moves it up.

``res_x`` and ``res_y`` are the pixel size of the rendered image, i.e. after the
render's resolution percentage has been applied. Only perspective and orthographic
cameras are modelled; panoramic cameras have no ``K``.
"""

from __future__ import annotations

import numpy as np

from .transforms import apply, rigid_inverse, transform_points

SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")

_CV_FROM_BLENDER = np.diag([1.0, -1.0, -1.0, 1.0])


def fit_is_horizontal(
    sensor_fit: str, res_x: int, res_y: int, pixel_aspect_x: float, pixel_aspect_y: float
) -> bool:
    """Whether Blender fits the sensor (or ortho scale) to the image width.

    ``AUTO`` fits horizontally when ``res_x * pixel_aspect_x >= res_y * pixel_aspect_y``.
    Raises :class:`ValueError` for an unknown ``sensor_fit``.
    """
    if sensor_fit == "HORIZONTAL":
        return True
    if sensor_fit == "VERTICAL":
        return False
    if sensor_fit == "AUTO":
        return res_x * pixel_aspect_x >= res_y * pixel_aspect_y
    raise ValueError(f"unknown sensor fit {sensor_fit!r}; expected one of {SENSOR_FITS}")


def intrinsics(
    lens_mm: float,
    sensor_width: float,
    sensor_height: float,
    sensor_fit: str,
    shift_x: float,
    shift_y: float,
    res_x: int,
    res_y: int,
    pixel_aspect_x: float = 1.0,
    pixel_aspect_y: float = 1.0,
    ortho: bool = False,
    ortho_scale: float | None = None,
) -> np.ndarray:
    """Return the 3x3 intrinsic matrix ``K`` (float64, pixels) of a Blender camera.

    For a perspective camera ``K`` is the usual pinhole matrix
    ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``: a point ``(x, y, z)`` in the OpenCV
    camera frame lands at ``u = fx * x / z + cx``, ``v = fy * y / z + cy``.

    For an orthographic camera (``ortho=True``, ``ortho_scale`` in scene units, lens and
    sensor ignored) ``K`` has the same layout but is *affine*: ``u = fx * x + cx``,
    ``v = fy * y + cy``, with ``z`` ignored; ``fx`` and ``fy`` are pixels per scene
    unit. Use :func:`project` with ``ortho=True`` for it.

    ``(u, v)`` are continuous image coordinates with the image's top-left corner at
    ``(0, 0)``: the centre of pixel (row ``r``, column ``c``) is ``(c + 0.5, r + 0.5)``,
    so an unshifted camera has ``cx = res_x / 2``, ``cy = res_y / 2``. See the module
    docstring for the sensor fit, shift and pixel aspect rules.
    """
    if res_x <= 0 or res_y <= 0:
        raise ValueError(f"resolution must be positive, got {res_x} x {res_y}")
    if pixel_aspect_x <= 0 or pixel_aspect_y <= 0:
        raise ValueError(f"pixel aspect must be positive, got {pixel_aspect_x}, {pixel_aspect_y}")
    horizontal = fit_is_horizontal(sensor_fit, res_x, res_y, pixel_aspect_x, pixel_aspect_y)
    # y pixel size in units of x pixel size (Blender's "ycor").
    ycor = pixel_aspect_y / pixel_aspect_x
    # Extent of the fitted side of the frame, measured in x-pixel widths.
    viewfac = float(res_x) if horizontal else ycor * float(res_y)
    if ortho:
        if ortho_scale is None or ortho_scale <= 0:
            raise ValueError(f"an orthographic camera needs ortho_scale > 0, got {ortho_scale}")
        # Scene units per x-pixel width.
        pixel_size = float(ortho_scale) / viewfac
    else:
        if lens_mm <= 0:
            raise ValueError(f"focal length must be positive, got {lens_mm}")
        sensor = float(sensor_height) if sensor_fit == "VERTICAL" else float(sensor_width)
        if sensor <= 0:
            raise ValueError(f"sensor size must be positive, got {sensor}")
        # Size of an x-pixel on a plane at distance 1 in front of the camera.
        pixel_size = sensor / float(lens_mm) / viewfac
    fx = 1.0 / pixel_size
    fy = fx / ycor
    # Blender shifts the view window by shift * viewfac x-pixel widths (both axes).
    cx = 0.5 * res_x - float(shift_x) * viewfac
    cy = 0.5 * res_y + float(shift_y) * viewfac / ycor
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def intrinsics_inverse(K: np.ndarray) -> np.ndarray:  # noqa: N803
    """The inverse of an intrinsic matrix of :func:`intrinsics` (no skew), in closed form.

    ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` maps to
    ``[[1/fx, 0, -cx/fx], [0, 1/fy, -cy/fy], [0, 0, 1]]``; its top-left 2x2 block also
    inverts the affine ``K`` of an orthographic camera.
    """
    k = np.asarray(K, dtype=np.float64)
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    return np.array(
        [[1.0 / fx, 0.0, -cx / fx], [0.0, 1.0 / fy, -cy / fy], [0.0, 0.0, 1.0]], dtype=np.float64
    )


def opencv_from_blender_camera() -> np.ndarray:
    """Return the fixed 4x4 change of axes from Blender's camera frame to OpenCV's.

    ``diag(1, -1, -1, 1)``: Blender's camera has x right, y up, z backward; OpenCV's has
    x right, y down, z forward. The matrix is its own inverse.
    """
    return _CV_FROM_BLENDER.copy()


def normalized_matrix(matrix: np.ndarray) -> np.ndarray:
    """Return a 4x4 affine matrix with its scale removed (3x3 columns scaled to length 1).

    This is what Blender and Cycles render a camera with (Cycles'
    ``transform_clear_scale``): a camera's object scale does not change its view.
    A zero-length column raises :class:`ValueError`.
    """
    m = np.array(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"expected a 4x4 matrix, got shape {m.shape}")
    lengths = np.linalg.norm(m[:3, :3], axis=0)
    if np.any(lengths == 0) or not np.all(np.isfinite(lengths)):
        raise ValueError("matrix has a zero or non-finite scale")
    m[:3, :3] /= lengths
    return m


def world_to_camera_cv(camera_matrix_world: np.ndarray) -> np.ndarray:
    """Return the 4x4 world-to-camera matrix in OpenCV axes (x right, y down, z forward).

    ``camera_matrix_world`` is the camera object's ``matrix_world`` (Blender axes); any
    scale in it is removed first (:func:`normalized_matrix`), as Blender does when
    rendering. ``p_cam = M @ [x, y, z, 1]`` gives the point in the camera frame, with
    ``p_cam[2]`` its planar depth (distance along the viewing axis).
    """
    camera_to_world = normalized_matrix(camera_matrix_world)
    return _CV_FROM_BLENDER @ rigid_inverse(camera_to_world)


def project(K: np.ndarray, points_cam: np.ndarray, ortho: bool = False) -> np.ndarray:  # noqa: N803
    """Project Nx3 points in the OpenCV camera frame to Nx2 image coordinates ``(u, v)``.

    Perspective (``ortho=False``): ``(u, v, 1) ~ K @ (x, y, z)``; points with ``z <= 0``
    (at or behind the camera) have no image and give NaN. Orthographic: ``(u, v) =
    K[:2] @ (x, y, 1)`` (``z`` ignored). Coordinates follow the convention of
    :func:`intrinsics` (pixel centres at ``+0.5``).
    """
    k = np.asarray(K, dtype=np.float64)
    pts = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
    if ortho:
        return apply(k[:2, :2], pts[:, :2]) + k[:2, 2]
    homogeneous = apply(k, pts)
    z = pts[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = homogeneous[:, :2] / homogeneous[:, 2:3]
    return np.where(z > 0, uv, np.nan)


def project_points(
    K: np.ndarray,  # noqa: N803 - the conventional name of the intrinsic matrix
    world_to_cam_cv: np.ndarray,
    points_world: np.ndarray,
    ortho: bool = False,
) -> np.ndarray:
    """Project Nx3 world points to Nx2 image coordinates with ``K`` and OpenCV extrinsics.

    ``world_to_cam_cv`` comes from :func:`world_to_camera_cv`. See :func:`project` for
    points behind a perspective camera and for ``ortho``.
    """
    return project(K, transform_points(world_to_cam_cv, points_world), ortho=ortho)
