"""Uploaded photos made safe to publish: checked by their content, bounded, re-encoded.

:func:`clean` takes the bytes of an upload (already bounded while it streamed in, by
``core.http.body_limit``) and gives back a new file of the same format, or ``ValueError``
in words a person can act on:

- The format is read from the content by Pillow, never from the file name or the declared
  type: JPEG, PNG or WebP only (an SVG, a GIF, an HTML page renamed ``.jpg`` are refused).
- Size is bounded before the pixels are decoded (``max_side`` per side and ``max_pixels`` in
  all), so a small file that declares a huge image (a "decompression bomb") never reaches
  memory.
- The image is decoded and encoded again: only pixels survive. EXIF (camera serial, GPS
  position, time taken), XMP, IPTC, PNG text chunks and ICC profiles are dropped; the EXIF
  orientation is applied first, so the photo still stands the right way up.

:func:`thumbnail` makes the small copy shown where a photo is small (the public window's list
shows each listing's first photo in a 96 x 72 box): the cleaned photo scaled down to
``THUMB_SIDE`` pixels on its longer side, aspect ratio kept, in the photo's own format and as
free of metadata (it is encoded by the same code). A photo already that small is its own
thumbnail (``None``): nothing is stored twice.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 8_000  # pixels on either side; phone cameras give about 4,000 x 3,000
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85
WEBP_QUALITY = 85
# A thumbnail's longer side, in pixels: the list's 96-160 px boxes on a 2x (phone) screen.
THUMB_SIDE = 320


@dataclass(frozen=True)
class Cleaned:
    """A re-encoded photo: its bytes, content type and size in pixels."""

    data: bytes
    content_type: str
    width: int
    height: int


def clean(data: bytes, *, max_bytes: int = MAX_BYTES, max_side: int = MAX_SIDE,
          max_pixels: int = MAX_PIXELS) -> Cleaned:
    """The photo re-encoded without its metadata; ``ValueError`` saying why it is refused."""
    upright, fmt = _open(data, max_bytes=max_bytes, max_side=max_side, max_pixels=max_pixels)
    return _encode(upright, fmt)


def thumbnail(data: bytes, *, side: int = THUMB_SIDE) -> Cleaned | None:
    """A cleaned photo (the ``data`` of :func:`clean`'s answer) scaled down to ``side`` pixels
    on its longer side, aspect ratio kept, same format, no metadata; ``None`` when the photo
    is no larger than that (it serves as its own thumbnail). The bytes are checked as an
    upload is (``ValueError``), though they come from :func:`clean`."""
    image, fmt = _open(data, max_bytes=MAX_BYTES, max_side=MAX_SIDE, max_pixels=MAX_PIXELS,
                       draft=side)
    if max(image.size) <= side:
        return None
    if image.mode == "P":  # resized by the palette, it could only take nearest neighbors
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    image.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _encode(image, fmt)


def _open(data: bytes, *, max_bytes: int, max_side: int, max_pixels: int,
          draft: int | None = None) -> tuple[Image.Image, str]:
    """The image decoded and stood upright, and its format; ``ValueError`` if refused. With
    ``draft``, a JPEG is decoded already scaled down (by 1/2, 1/4 or 1/8) to no less than
    ``draft`` pixels a side: a thumbnail costs a fraction of the full decode."""
    if not data:
        raise ValueError("the file is empty")
    if len(data) > max_bytes:
        raise ValueError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    not_image = "must be a JPEG, PNG or WebP image"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES))
        except (UnidentifiedImageError, Image.DecompressionBombError,
                Image.DecompressionBombWarning, OSError, ValueError):
            raise ValueError(not_image) from None
        fmt = image.format or ""
        width, height = image.size
        if fmt not in CONTENT_TYPES:
            raise ValueError(not_image)
        if width < 1 or height < 1 or width > max_side or height > max_side \
                or width * height > max_pixels:
            raise ValueError(f"the image is {width:,} x {height:,} pixels; at most "
                             f"{max_side:,} on a side and {max_pixels // 1_000_000} million "
                             "in all")
        try:
            if draft is not None and fmt == "JPEG":
                image.draft(image.mode, (draft, draft))
            image.load()
            upright = ImageOps.exif_transpose(image) or image
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
                Image.DecompressionBombWarning):
            raise ValueError("the image is damaged or cut off; " + not_image) from None
    return upright, fmt


def _encode(image: Image.Image, fmt: str) -> Cleaned:
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels = image if image.mode in ("RGB", "L") else image.convert("RGB")
        pixels.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        keep = ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I")
        pixels = image if image.mode in keep else image.convert("RGBA")
        if pixels.mode == "P":  # the palette's transparency is pixels, not metadata
            transparency = image.info.get("transparency")
            pixels.save(out, format="PNG", optimize=True,
                        **({"transparency": transparency} if transparency is not None else {}))
        else:
            pixels.save(out, format="PNG", optimize=True)
    else:
        pixels = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
        pixels.save(out, format="WEBP", quality=WEBP_QUALITY)
    return Cleaned(data=out.getvalue(), content_type=CONTENT_TYPES[fmt],
                   width=pixels.width, height=pixels.height)


__all__ = ["CONTENT_TYPES", "EXTENSIONS", "MAX_BYTES", "MAX_PIXELS", "MAX_SIDE", "THUMB_SIDE",
           "Cleaned", "clean", "thumbnail"]
