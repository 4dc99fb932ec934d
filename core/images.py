"""Uploaded images, decoded and re-encoded so that only pixels reach other users.

A photo straight from a phone carries EXIF metadata: GPS coordinates of where it was taken (often
the sender's home), the camera's serial number, the time. Serving the uploaded bytes as they are
hands all of that to the other side of a chat. :func:`sanitize_image` instead decodes the image
with Pillow, checks what it really is and how big it is, turns it upright (EXIF orientation), and
encodes fresh bytes that carry no EXIF, XMP, comments or text chunks: only the pixels and, for
correct colours, the ICC colour profile. Files that only look like images (a valid signature
followed by anything else) fail to decode and are refused.

Limits: formats JPEG, PNG, GIF and WebP (by content, not by name or declared type); at most
``max_pixels`` pixels and ``max_side`` pixels per side, checked from the header before the pixels
are decoded (a 1 KB file can declare a 50,000 x 50,000 image). Animated GIF/WebP keep their first
frame only.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

#: Pillow format -> (content type, encoder options)
FORMATS: dict[str, tuple[str, dict]] = {
    "JPEG": ("image/jpeg", {"quality": 90, "optimize": True}),
    "PNG": ("image/png", {"optimize": False}),
    "GIF": ("image/gif", {}),
    "WEBP": ("image/webp", {"quality": 90}),
}
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 12_000
#: longest side of the stored image; larger ones are scaled down (a chat needs no 8K photos)
DEFAULT_OUTPUT_SIDE = 4096


@dataclass(frozen=True)
class SanitizedImage:
    """Re-encoded image bytes, their ``content_type`` and the size in pixels."""

    data: bytes
    content_type: str
    width: int
    height: int


def _invalid(detail: str, *, field: str) -> ApplicationError:
    return ApplicationError(detail, code="invalid_image", fields={field: [detail]})


def sanitize_image(
    data: bytes, *, field: str = "file", max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE,
    output_side: int = DEFAULT_OUTPUT_SIDE,
) -> SanitizedImage:
    """Decode ``data``, check it and re-encode it without metadata (see the module docstring),
    scaled down to at most ``output_side`` pixels on its longest side (JPEGs are decoded at a
    reduced scale right away, Pillow's ``draft``, so a large photo never needs its full-size
    bitmap in memory).

    Raises ``ApplicationError`` 400 ``invalid_image`` (not a JPEG/PNG/GIF/WebP, or corrupt) or
    ``image_too_large`` (over ``max_pixels`` / ``max_side``), naming ``field``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in FORMATS:
                raise _invalid("Only JPEG, PNG, GIF and WebP images are accepted.", field=field)
            width, height = image.size
            if width < 1 or height < 1 or width > max_side or height > max_side or width * height > max_pixels:
                raise ApplicationError(
                    f"Images may be at most {max_side} pixels per side and {max_pixels} pixels in all.",
                    code="image_too_large", fields={field: ["Too many pixels."]},
                )
            image.seek(0)  # the first frame of an animation
            if fmt == "JPEG":
                image.draft(image.mode, (output_side, output_side))
            image.load()
            icc_profile = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((output_side, output_side))
    except ApplicationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApplicationError("The image has too many pixels.", code="image_too_large",
                               fields={field: ["Too many pixels."]}) from None
    except UnidentifiedImageError:
        raise _invalid("The file is not a readable JPEG, PNG, GIF or WebP image.", field=field) from None
    except Exception:  # noqa: BLE001 - decoders raise many kinds (struct.error, IndexError...) on crafted files
        logger.info("image upload refused: the decoder failed", exc_info=True)
        raise _invalid("The file is not a readable JPEG, PNG, GIF or WebP image.", field=field) from None
    content_type, options = FORMATS[fmt]
    options = dict(options)
    if icc_profile and fmt in ("JPEG", "PNG", "WEBP"):
        options["icc_profile"] = icc_profile
    out = io.BytesIO()
    try:
        clean = _without_metadata(upright, fmt)
        if transparency is not None and fmt in ("PNG", "GIF") and clean.mode in ("P", "L", "RGB"):
            options["transparency"] = transparency
        clean.save(out, format=fmt, **options)
    except Exception:  # noqa: BLE001 - an odd mode or palette of a decodable file: refuse it, not 500
        logger.info("image upload refused: re-encoding failed", exc_info=True)
        raise _invalid("The image could not be re-encoded; save it as an ordinary JPEG or PNG.", field=field) from None
    return SanitizedImage(data=out.getvalue(), content_type=content_type, width=clean.width, height=clean.height)


def _without_metadata(image: Image.Image, fmt: str) -> Image.Image:
    """A copy of ``image``'s pixels with an empty ``info`` (encoders fall back to ``info`` for
    comments and EXIF), in a mode ``fmt`` can encode."""
    if fmt == "JPEG" and image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("RGB")
    elif fmt == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    elif fmt == "PNG" and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    clean = image.copy()
    clean.info = {}
    return clean


def read_upload(file, *, max_bytes: int, field: str = "file") -> bytes:
    """The bytes of an uploaded ``file`` (a Django ``UploadedFile``), refusing a missing file
    (``ApplicationError`` 400 ``invalid_image``) and one over ``max_bytes`` (400
    ``image_too_large``) without reading more than ``max_bytes + 1`` bytes. Give the result to
    :func:`sanitize_image`."""
    if file is None or not hasattr(file, "read"):
        raise ApplicationError(f"Attach an image file (multipart field '{field}').", code="invalid_image",
                               fields={field: ["This field is required."]})
    too_large = ApplicationError(f"Photos may be at most {max_bytes} bytes.", code="image_too_large",
                                 fields={field: ["Too large."]})
    if (getattr(file, "size", None) or 0) > max_bytes:
        raise too_large
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    return data
