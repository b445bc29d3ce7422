#!/usr/bin/env python3
"""Makes text_panorama.jpg, the equirectangular frame on which pipeline360 runs PaddleOCR's text
detector (tests/examples/pipeline360_cli_test.sh, docs/model.md): 2048x1024, a sky-to-ground
gradient with soft noise and shapes that are not text (discs, bars, a grid), and three light signs
with dark lines of text, centred at longitude 0 (ahead), +90 (right) and 180 (behind, straddling
the seam); longitude -90 (left) has shapes but no text. Text: DejaVu Sans from Debian's
fonts-dejavu-core. Deterministic (seeded); needs Pillow and numpy.

  python3 make_text_panorama.py OUT_DIR
"""
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

W, H = 2048, 1024
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SIGNS = [  # (longitude of the centre in degrees, lines)
    (0, ["NO ENTRY", "AUTHORISED", "STAFF ONLY"]),
    (90, ["PLATFORM 4", "EXIT 12"]),
    (180, ["OPEN 9-5", "MON - FRI"]),
]


def x_of(longitude):  # pixel column of a longitude, -180 at the left edge
    return (longitude + 180.0) / 360.0 * W


def main(out_dir):
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, H)[:, None, None]
    sky, ground = np.array([110, 150, 200]), np.array([90, 80, 60])
    base = np.where(y < 0.5, sky + (y / 0.5) * 40, ground + ((y - 0.5) / 0.5) * 30) * np.ones((1, W, 1))
    noise = Image.fromarray(rng.normal(0, 10, (H // 8, W // 8)).astype(np.float32)).resize((W, H), Image.BICUBIC)
    base = np.clip(base + np.asarray(noise)[:, :, None], 0, 255).astype(np.uint8)
    img = Image.fromarray(base, "RGB")
    d = ImageDraw.Draw(img)
    # Shapes that are not text, everywhere, and most of all at longitude -90 where no sign is.
    for _ in range(40):
        cx, cy, r = rng.uniform(0, W), rng.uniform(380, 700), rng.uniform(10, 45)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in rng.integers(30, 230, 3)))
    for k in range(6):
        x0 = x_of(-110) + k * 40
        d.rectangle([x0, 420, x0 + 14, 620], fill=(60, 60, 70))
    for k in range(5):
        d.line([x_of(-75), 440 + k * 30, x_of(-55), 440 + k * 30], fill=(200, 200, 190), width=3)
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 40)
    for longitude, lines in SIGNS:
        sign = Image.new("RGB", (300, 60 * len(lines) + 40), (245, 245, 240))
        sd = ImageDraw.Draw(sign)
        for i, line in enumerate(lines):
            w = sd.textlength(line, font=font)
            sd.text(((300 - w) / 2, 20 + 60 * i), line, fill=(20, 20, 25), font=font)
        left, top = int(round(x_of(longitude) - 150)), 512 - sign.height // 2
        for shift in (-W, 0, W):  # the seam: the part beyond an edge comes back at the other
            img.paste(sign, (left + shift, top))
    img.save(f"{out_dir}/text_panorama.jpg", quality=88)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
