#!/usr/bin/env python3
"""Hard peer-reference data for vbatch's u8 sampling precision: py360convert 1.0.4 e2p views
that magnify a sharp black/white checkerboard, so every output pixel's fractional source
position matters (tests/sample/precision_test.cpp).

    python3 -m venv /tmp/p360 && /tmp/p360/bin/pip install py360convert==1.0.4 pillow numpy scipy
    /tmp/p360/bin/python generate.py        # from this folder

Writes checker.png (the input), e2p_<case>_<mode>.png and cases.json next to this script.
py360convert must take its scipy path: the script stops if cv2 can be imported.
"""

import hashlib
import importlib.util
import json
import pathlib
import platform
import sys

if importlib.util.find_spec("cv2") is not None:
    sys.exit("generate.py: cv2 is importable, so py360convert would sample with cv2.remap; "
             "use an environment without OpenCV")

import numpy as np
import PIL
import scipy
from PIL import Image

import py360convert

VERSION = "1.0.4"
if py360convert.__version__ != VERSION:
    sys.exit(f"generate.py: py360convert {py360convert.__version__} found, need {VERSION}")

OUT = pathlib.Path(__file__).resolve().parent
WIDTH, HEIGHT, CELL = 512, 256, 8

# name, (hfov, vfov) in degrees, yaw (u_deg), pitch (v_deg), roll (in_rot_deg), (out_h, out_w)
CASES = [
    ("zoom_a", (20, 15), 7.3, 3.1, 0, (120, 160)),       # about 5.6 output pixels per source pixel
    ("zoom_seam", (20, 15), 180, -4.2, 0, (120, 160)),   # straddles the ±180° seam
    ("zoom_pole", (20, 15), -61.7, 82.5, 0, (120, 160)),  # reaches past the north pole
    ("zoom_roll", (20, 15), 101.1, -37.4, 27, (120, 160)),  # edges at an angle
    ("wide", (100, 70), -20, 10, 0, (112, 160)),
]
MODES = ("bilinear", "nearest")


def checker():
    """0/255 cells of CELL pixels, edges on pixel boundaries; 1-pixel lines on top of them:
    red columns at x = 3 (mod 32), blue rows at y = 5 (mod 32)."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    grey = np.where((x // CELL + y // CELL) % 2 == 0, 255, 0).astype(np.uint8)
    img = np.repeat(grey[:, :, None], 3, axis=2)
    img[:, 3::32] = (255, 0, 0)
    img[5::32, :] = (0, 0, 255)
    return img


def save(name, rgb):
    path = OUT / name
    Image.fromarray(np.ascontiguousarray(rgb)).save(path, optimize=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    pano = checker()
    entries = []
    for name, (hfov, vfov), yaw, pitch, roll, (h, w) in CASES:
        for mode in MODES:
            view = py360convert.e2p(pano, fov_deg=(hfov, vfov), u_deg=yaw, v_deg=pitch, out_hw=(h, w),
                                    in_rot_deg=roll, mode=mode)
            if view.dtype != np.uint8 or view.shape != (h, w, 3):
                sys.exit(f"generate.py: {name} {mode}: unexpected output {view.dtype} {view.shape}")
            file = f"e2p_{name}_{mode}.png"
            entries.append({"kind": "e2p", "case": name, "mode": mode, "file": file, "hfov_deg": hfov,
                            "vfov_deg": vfov, "yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": roll, "out_w": w,
                            "out_h": h, "sha256": save(file, view)})
    meta = {
        "description": "py360convert.e2p (scipy map_coordinates path) of a sharp checkerboard; "
                       "yaw_deg=u_deg, pitch_deg=v_deg, roll_deg=in_rot_deg, fov passed as (hfov, vfov)",
        "py360convert_version": py360convert.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "pillow_version": PIL.__version__,
        "python_version": platform.python_version(),
        "input_file": "checker.png",
        "input_w": WIDTH,
        "input_h": HEIGHT,
        "input_sha256": save("checker.png", pano),
        "cases": entries,
    }
    (OUT / "cases.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"generate.py: checker.png and {len(entries)} views in {OUT}")


if __name__ == "__main__":
    main()
