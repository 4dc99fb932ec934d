#!/usr/bin/env python
"""Benchmark: the CPU time of one product image upload's processing (``commerce.catalog.media``):
checking and re-encoding the image without metadata (``core.images.sanitize_image``, scaled to
``PRODUCT_IMAGE_SIDE``) and making its two WebP thumbnails — what a request waits for before the
files are stored.

    .venv/bin/python bench/product_media.py

Inputs are phone-like photos made here (noise over a gradient, so the encoders have real work):
a 12-megapixel JPEG (4000 x 3000) with EXIF, a 2-megapixel JPEG (1600 x 1200) and a 1-megapixel
PNG with alpha (1000 x 1000). Each is processed 15 times (after 2 warm-ups); p50 and p90 in
milliseconds. No database. Writes ``bench/results/product_media.json`` and ``.md``.
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from PIL import ExifTags, Image  # noqa: E402

from bench.common import RESULTS_DIR, percentile  # noqa: E402
from commerce.catalog.media import make_thumbnails  # noqa: E402
from core.images import sanitize_image  # noqa: E402

RUNS, WARMUP = 15, 2


def photo(size: tuple[int, int], fmt: str) -> bytes:
    w, h = size
    noise = Image.effect_noise(size, 40).convert("L")
    base = Image.linear_gradient("L").resize(size)
    mode = "RGBA" if fmt == "PNG" else "RGB"
    image = Image.merge("RGB", (base, noise, Image.eval(base, lambda v: 255 - v))).convert(mode)
    out = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "PhoneCo"
        image.save(out, format="JPEG", quality=92, exif=exif.tobytes())
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def process(data: bytes) -> tuple[float, float]:
    """(sanitize ms, thumbnails ms) of one upload."""
    t0 = time.perf_counter()
    clean = sanitize_image(data, field="file", max_pixels=int(settings.PRODUCT_IMAGE_MAX_PIXELS),
                           max_side=int(settings.PRODUCT_IMAGE_MAX_SIDE), output_side=int(settings.PRODUCT_IMAGE_SIDE))
    t1 = time.perf_counter()
    make_thumbnails(clean.data, sides=settings.PRODUCT_THUMBNAIL_SIDES)
    t2 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000


def main() -> None:
    cases = {"12 MP JPEG (4000x3000)": photo((4000, 3000), "JPEG"), "2 MP JPEG (1600x1200)": photo((1600, 1200), "JPEG"),
             "1 MP PNG with alpha (1000x1000)": photo((1000, 1000), "PNG")}
    rows = []
    for name, data in cases.items():
        for _ in range(WARMUP):
            process(data)
        runs = [process(data) for _ in range(RUNS)]
        total = [a + b for a, b in runs]
        rows.append({"input": name, "bytes": len(data),
                     "sanitize_p50_ms": round(statistics.median(a for a, _ in runs), 1),
                     "thumbnails_p50_ms": round(statistics.median(b for _, b in runs), 1),
                     "total_p50_ms": round(statistics.median(total), 1),
                     "total_p90_ms": round(percentile(total, 90), 1)})
        print(rows[-1])
    result = {"python": platform.python_version(), "pillow": Image.__version__, "cpus": os.cpu_count(),
              "load_avg_at_start": os.getloadavg()[0], "image_side": settings.PRODUCT_IMAGE_SIDE,
              "thumbnails": settings.PRODUCT_THUMBNAIL_SIDES, "runs": RUNS, "rows": rows}
    (RESULTS_DIR / "product_media.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Product image upload processing", "",
             f"`bench/product_media.py`: Python {result['python']}, Pillow {result['pillow']}, {result['cpus']} CPUs, "
             f"load {result['load_avg_at_start']:.2f} at start; stored side {result['image_side']} px, thumbnails "
             f"{result['thumbnails']}; {RUNS} runs each.", "",
             "| input | bytes | sanitize p50 (ms) | thumbnails p50 (ms) | total p50 (ms) | total p90 (ms) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['input']} | {r['bytes']:,} | {r['sanitize_p50_ms']} | {r['thumbnails_p50_ms']} | "
              f"{r['total_p50_ms']} | {r['total_p90_ms']} |" for r in rows]
    (RESULTS_DIR / "product_media.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
