#!/usr/bin/env python3
"""Generate peer-reference data for vbatch from the Python library py360convert.

Run from this folder:

    pip install py360convert==1.0.4 pillow
    python3 generate.py

It writes (next to this script):
  * equirect.png            our own synthetic 512x256 RGB equirectangular scene
  * e2p_<case>_<mode>.png   py360convert.e2p outputs (cases a..f, bilinear/nearest)
  * e2c_<mode>.png          py360convert.e2c outputs (face_w=64, 'horizon' layout)
  * cases.json              every call's parameters, output names/shapes, versions

OpenCV must NOT be installed: py360convert silently switches to cv2.remap
(fixed-point maps) when cv2 is importable; these references are meant to come
from its scipy.ndimage.map_coordinates path.
"""

import hashlib
import importlib
import json
import os
import platform
import struct
import sys
import zlib

# ---------------------------------------------------------------------------
# 0. Refuse to run with OpenCV present.
# ---------------------------------------------------------------------------
try:
    importlib.import_module("cv2")
except ImportError:
    pass
else:
    sys.exit(
        "error: cv2 (OpenCV) is importable. py360convert would then use cv2.remap "
        "instead of scipy.ndimage.map_coordinates and the reference data would "
        "differ. Run this script in an environment without opencv-python."
    )

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.ndimage import map_coordinates  # noqa: E402

import py360convert  # noqa: E402

if getattr(py360convert.utils, "cv2", None) is not None:
    sys.exit("error: py360convert picked up cv2; refusing to generate data.")

EXPECTED_PY360_VERSION = "1.0.4"
if py360convert.__version__ != EXPECTED_PY360_VERSION:
    sys.exit(
        f"error: py360convert {py360convert.__version__} found, this data set is "
        f"defined for {EXPECTED_PY360_VERSION} (pip install py360convert=={EXPECTED_PY360_VERSION})"
    )

try:
    from PIL import Image
    import PIL

    PILLOW_VERSION = PIL.__version__
except ImportError:  # fall back to the tiny writer below
    Image = None
    PILLOW_VERSION = None

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# PNG output (Pillow if present, else a minimal zlib based writer).
# ---------------------------------------------------------------------------
def _png_chunk(tag, data):
    body = tag + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, rgb):
    rgb = np.ascontiguousarray(rgb)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, rgb.shape
    if Image is not None:
        Image.fromarray(rgb).save(path, optimize=True)
        return
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter 0 per row
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bit, colour type 2 (RGB)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(_png_chunk(b"IHDR", ihdr))
        f.write(_png_chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(_png_chunk(b"IEND", b""))


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------
# 1. Synthetic equirectangular scene.
#
# Pixel (col i, row j) of a W x H image covers longitude
# [-180 + 360*i/W, -180 + 360*(i+1)/W] and latitude [90 - 180*(j+1)/H, 90 - 180*j/H]
# (centre of column 0 is at lon -180 + 180/W, centre of row 0 at lat 90 - 90/H).
# The scene is evaluated at SS x SS sub-samples per pixel and box-averaged, so
# every feature is anti-aliased and fully deterministic.
# ---------------------------------------------------------------------------
EQ_W, EQ_H, SS = 512, 256, 4


def _wrap180(d):
    """Wrap an angle difference (degrees) into [-180, 180)."""
    return (d + 180.0) % 360.0 - 180.0


def _ang_dist(lon, lat, lon0, lat0):
    """Great-circle distance in degrees."""
    la, lo = np.radians(lat), np.radians(lon)
    la0, lo0 = np.radians(lat0), np.radians(lon0)
    c = np.sin(la) * np.sin(la0) + np.cos(la) * np.cos(la0) * np.cos(lo - lo0)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _paint(img, mask, colour):
    img[mask] = np.asarray(colour, np.float64) / 255.0


def _glyph_F(img, lon, lat, lon0, lat0, unit):
    """Black letter 'F' on a white box centred at (lon0, lat0); unit = stroke size in deg.
    The letter reads correctly when +lon is to the right and +lat is up."""
    ux = _wrap180(lon - lon0) * np.cos(np.radians(lat0)) / unit + 2.0
    uy = (lat - lat0) / unit + 2.5
    box = (ux >= -1) & (ux < 5) & (uy >= -1) & (uy < 6)
    stem = (ux >= 0) & (ux < 1) & (uy >= 0) & (uy < 5)
    top = (ux >= 0) & (ux < 4) & (uy >= 4) & (uy < 5)
    mid = (ux >= 0) & (ux < 3) & (uy >= 2) & (uy < 3)
    _paint(img, box, (255, 255, 255))
    _paint(img, stem | top | mid, (0, 0, 0))


def _disc(img, lon, lat, lon0, lat0, radius, colour):
    """Filled disc (on the sphere) with a black ring and an off-centre white dot
    towards north-east, so rotations and mirrors of it are visible."""
    d = _ang_dist(lon, lat, lon0, lat0)
    _paint(img, d < radius + 1.0, (0, 0, 0))
    _paint(img, d < radius, colour)
    e_lat = lat0 + 0.45 * radius
    e_lon = lon0 + 0.45 * radius / np.cos(np.radians(lat0))
    _paint(img, _ang_dist(lon, lat, e_lon, e_lat) < 0.3 * radius, (255, 255, 255))


def _checker(img, lon, lat, lon0, lat0, half_lon, half_lat, cell_lon, cell_lat, c0, c1, c1_east=None):
    """Checkerboard in (lon, lat) around (lon0, lat0). If c1_east is given, the
    non-black cells east of lon0 use that colour (marks which side is which)."""
    dlon = _wrap180(lon - lon0)
    dlat = lat - lat0
    inside = (np.abs(dlon) < half_lon) & (np.abs(dlat) < half_lat)
    par = (np.floor(dlon / cell_lon) + np.floor(dlat / cell_lat)).astype(np.int64) % 2 == 1
    _paint(img, inside & ~par, c0)
    if c1_east is None:
        _paint(img, inside & par, c1)
    else:
        _paint(img, inside & par & (dlon < 0), c1)
        _paint(img, inside & par & (dlon >= 0), c1_east)


def synth_equirect(w=EQ_W, h=EQ_H, ss=SS):
    xs = (np.arange(w * ss) + 0.5) / (w * ss)
    ys = (np.arange(h * ss) + 0.5) / (h * ss)
    lon = (xs * 360.0 - 180.0)[None, :].repeat(h * ss, 0)
    lat = (90.0 - ys * 180.0)[:, None].repeat(w * ss, 1)

    img = np.empty((h * ss, w * ss, 3), np.float64)
    # Smooth gradients: R with longitude (jumps at the seam on purpose),
    # G with latitude (dark at the north pole), B a smooth wave that is
    # continuous across the seam but not symmetric about any meridian.
    img[..., 0] = (lon + 180.0) / 360.0
    img[..., 1] = (90.0 - lat) / 180.0
    img[..., 2] = 0.5 + 0.4 * np.sin(np.radians(2.0 * lon + 40.0)) * np.cos(np.radians(lat))
    img = 16.0 / 255.0 + img * (223.0 / 255.0)

    # Graticule every 15 degrees, ~1 output pixel wide.
    px_lon, px_lat = 360.0 / w, 180.0 / h
    d_lon = np.abs(_wrap180(lon - 15.0 * np.round(lon / 15.0)))
    d_lat = np.abs(lat - 15.0 * np.round(lat / 15.0))
    on_lon = d_lon < 0.5 * px_lon
    on_lat = d_lat < 0.5 * px_lat
    img[on_lon] *= 0.25                      # meridians: dark
    img[on_lat] = img[on_lat] * 0.3 + 0.7    # parallels: light
    _paint(img, on_lon & (np.abs(_wrap180(lon)) < 1.0), (0, 0, 255))  # lon 0: blue
    _paint(img, on_lat & (np.abs(lat) < 1.0), (255, 230, 0))          # equator: yellow

    # Polar caps split into coloured longitude sectors (different counts N/S).
    north_cols = [(255, 0, 0), (255, 160, 0), (255, 255, 0), (0, 200, 0), (0, 160, 255), (160, 0, 255)]
    south_cols = [(255, 255, 255), (0, 0, 0), (255, 0, 160), (0, 255, 200)]
    sec_n = np.clip(np.floor((lon + 180.0) / 60.0).astype(int), 0, 5)
    sec_s = np.clip(np.floor((lon + 180.0) / 90.0).astype(int), 0, 3)
    for k, c in enumerate(north_cols):
        _paint(img, (lat > 84.0) & (sec_n == k), c)
    for k, c in enumerate(south_cols):
        _paint(img, (lat < -84.0) & (sec_s == k), c)

    # High-contrast features.
    # Seam (lon +-180): black/white cells on the +180 side, black/orange on the -180 side.
    _checker(img, lon, lat, 180.0, 8.0, 9.0, 6.0, 3.0, 3.0, (0, 0, 0), (255, 255, 255), (255, 128, 0))
    # Near the poles.
    _checker(img, lon, lat, 60.0, 80.0, 30.0, 4.0, 10.0, 2.0, (0, 0, 0), (255, 255, 0))
    _checker(img, lon, lat, -120.0, -80.0, 30.0, 4.0, 10.0, 2.0, (0, 0, 0), (0, 255, 0))
    _disc(img, lon, lat, -30.0, 80.0, 3.5, (255, 0, 255))
    _disc(img, lon, lat, 120.0, -80.0, 3.5, (0, 255, 255))
    # Asymmetric positions.
    _checker(img, lon, lat, 100.0, -30.0, 4.0, 4.0, 2.0, 2.0, (255, 0, 0), (255, 255, 255))
    _disc(img, lon, lat, -150.0, -20.0, 5.0, (255, 128, 0))
    _glyph_F(img, lon, lat, 37.0, 22.0, 1.5)
    _glyph_F(img, lon, lat, 140.0, 25.0, 1.5)
    _glyph_F(img, lon, lat, -100.0, 62.0, 1.5)
    _glyph_F(img, lon, lat, -50.0, -55.0, 1.5)
    _glyph_F(img, lon, lat, 4.0, -10.0, 1.0)

    img = img.reshape(h, ss, w, ss, 3).mean(axis=(1, 3))
    return np.clip(np.floor(img * 255.0 + 0.5), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# 2. Cases.
# ---------------------------------------------------------------------------
# name, fov_deg (as passed), u_deg, v_deg, out_hw (h, w), in_rot_deg
E2P_CASES = [
    ("a", 90, 0, 0, (128, 128), 0),
    ("b", (100, 70), 135, 30, (96, 160), 20),
    ("c", 90, 180, 0, (128, 128), 0),          # crosses the +-180 seam
    ("d", (80, 80), -100, 75, (128, 128), 0),  # contains the north pole
    ("e", (120, 90), -45, -60, (100, 150), -45),
    ("f", 60, 10, 0, (64, 128), 0),            # scalar fov, non-square output
]
MODES = ("bilinear", "nearest")
E2C_FACE_W = 64
E2C_FORMAT = "horizon"


def map_coordinates_uint8_rounding():
    """Empirical check of how scipy writes interpolated values to uint8."""
    a = np.array([[1, 3, 3, 10]], np.uint8)
    v = [int(map_coordinates(a, [[0.0], [x]], order=1)[0]) for x in (0.25, 0.75, 2.5, 2.05)]
    # exact values: 1.5, 2.5, 6.5, 3.35
    if v == [2, 3, 7, 3]:
        return "round_half_up"
    if v == [1, 2, 6, 3]:
        return "truncate"
    return "other:" + ",".join(map(str, v))


def main():
    out_dir = HERE
    eq = synth_equirect()
    eq_name = "equirect.png"
    write_png(os.path.join(out_dir, eq_name), eq)

    cases = []
    for name, fov, u, v, out_hw, rot in E2P_CASES:
        hfov, vfov = (fov, fov) if np.isscalar(fov) else fov
        for mode in MODES:
            out = py360convert.e2p(eq, fov_deg=fov, u_deg=u, v_deg=v, out_hw=out_hw, in_rot_deg=rot, mode=mode)
            assert out.dtype == np.uint8 and out.shape == (out_hw[0], out_hw[1], 3), (out.dtype, out.shape)
            fname = f"e2p_{name}_{mode}.png"
            write_png(os.path.join(out_dir, fname), out)
            cases.append({
                "kind": "e2p",
                "case": name,
                "mode": mode,
                "file": fname,
                "hfov_deg": float(hfov),
                "vfov_deg": float(vfov),
                "fov_passed_as_scalar": bool(np.isscalar(fov)),
                "yaw_deg": float(u),
                "pitch_deg": float(v),
                "roll_deg": float(rot),
                "out_w": int(out_hw[1]),
                "out_h": int(out_hw[0]),
                "channels": 3,
                "call": (f"py360convert.e2p(e_img, fov_deg={fov!r}, u_deg={u!r}, v_deg={v!r}, "
                         f"out_hw={out_hw!r}, in_rot_deg={rot!r}, mode={mode!r})"),
                "sha256": sha256_of(os.path.join(out_dir, fname)),
            })

    for mode in MODES:
        out = py360convert.e2c(eq, face_w=E2C_FACE_W, mode=mode, cube_format=E2C_FORMAT)
        assert out.dtype == np.uint8 and out.shape == (E2C_FACE_W, 6 * E2C_FACE_W, 3), (out.dtype, out.shape)
        fname = f"e2c_{mode}.png"
        write_png(os.path.join(out_dir, fname), out)
        cases.append({
            "kind": "e2c",
            "case": "cube",
            "mode": mode,
            "file": fname,
            "face_w": E2C_FACE_W,
            "cube_format": E2C_FORMAT,
            "face_order": "FRBLUD",
            "out_w": 6 * E2C_FACE_W,
            "out_h": E2C_FACE_W,
            "channels": 3,
            "call": f"py360convert.e2c(e_img, face_w={E2C_FACE_W}, mode={mode!r}, cube_format={E2C_FORMAT!r})",
            "sha256": sha256_of(os.path.join(out_dir, fname)),
        })

    meta = {
        "description": "Outputs of py360convert (scipy map_coordinates path, no OpenCV) on our own "
                       "synthetic equirectangular image. yaw_deg=u_deg, pitch_deg=v_deg, "
                       "roll_deg=in_rot_deg; out_w/out_h are pixels; images are RGB uint8 PNG.",
        "generator": "generate.py",
        "py360convert_version": py360convert.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "python_version": platform.python_version(),
        "pillow_version": PILLOW_VERSION if PILLOW_VERSION else "none (built-in PNG writer)",
        "opencv_present": False,
        "uint8_output_rounding": map_coordinates_uint8_rounding(),
        "input_file": eq_name,
        "input_w": int(eq.shape[1]),
        "input_h": int(eq.shape[0]),
        "input_channels": int(eq.shape[2]),
        "input_sha256": sha256_of(os.path.join(out_dir, eq_name)),
        "cases": cases,
    }
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {eq_name} and {len(cases)} outputs + cases.json to {out_dir}")


if __name__ == "__main__":
    main()
