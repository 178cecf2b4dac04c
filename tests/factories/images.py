"""Real image files for upload tests (Pillow), so checks by content see what a camera makes."""

from __future__ import annotations

import io

from PIL import Image

GPS_TAG = 0x8825


def jpeg_with_gps(width: int = 64, height: int = 48) -> bytes:
    """A JPEG as a phone makes it: camera make, software and the GPS position in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"  # Make
    exif[0x0131] = "secret-editor 1.0"  # Software
    exif[GPS_TAG] = {1: "N", 2: (47.0, 36.0, 22.0), 3: "W", 4: (122.0, 19.0, 55.0)}
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 32, height: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 200, 0, 128)).save(out, "PNG")
    return out.getvalue()


def textured(width: int, height: int, *, fmt: str = "JPEG", exif: bool = False) -> bytes:
    """A photo-like image (detail everywhere, so its size in bytes grows with its pixels as a
    camera's does), optionally with a camera's EXIF."""
    gray = Image.effect_mandelbrot((width, height), (-2.2, -1.4, 0.9, 1.4), 60)
    noise = Image.effect_noise((width, height), 40)
    image = Image.merge("RGB", (gray, noise, Image.linear_gradient("L").resize((width, height))))
    out = io.BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SnoopCam"
        extra["exif"] = tags.tobytes()
    image.save(out, fmt, **extra)
    return out.getvalue()
