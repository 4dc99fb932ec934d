"""Private image attachments of a thread: the type is told by the bytes (JPEG, PNG, GIF, WebP),
the size is capped before reading further, and what is stored is re-encoded without metadata
(``core.images.sanitize_image``). Files live in a private storage outside ``MEDIA_ROOT``,
served only through the owning app's API to the thread's participants."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db.models import QuerySet
from django.utils import timezone

from core.images import DEFAULT_MAX_PIXELS, SanitizedImage, sanitize_image
from threads.inputs import invalid

MAX_IMAGE_BYTES = 5 * 1024 * 1024

_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
]

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def sniff_image_type(head: bytes) -> str | None:
    """The image content type from the first bytes (JPEG, PNG, GIF, WebP), or None."""
    for signature, offset, content_type in _SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_image_bytes(file, *, max_bytes: int) -> bytes:
    """The bytes of the uploaded ``file`` once they are known to be an image of at most
    ``max_bytes`` (read no further than that). Raises ``invalid_image`` (400: no file, not an
    image) and ``image_too_large`` (400)."""
    if file is None or not hasattr(file, "read"):
        raise invalid("file", "Attach an image file (multipart field 'file').", code="invalid_image")
    if (getattr(file, "size", None) or 0) > max_bytes:
        raise invalid("file", f"Images may be at most {max_bytes} bytes.", code="image_too_large")
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise invalid("file", f"Images may be at most {max_bytes} bytes.", code="image_too_large")
    if sniff_image_type(data[:16]) is None:
        raise invalid("file", "Only JPEG, PNG, GIF and WebP images are accepted.", code="invalid_image")
    return data


def read_image(file, *, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> SanitizedImage:
    """:func:`read_image_bytes`, re-encoded (``core.images.sanitize_image``: upright, no EXIF or
    other metadata). Raises what those raise (``image_too_large`` over ``max_pixels``)."""
    return sanitize_image(read_image_bytes(file, max_bytes=max_bytes), max_pixels=max_pixels)


class PrivateMediaStorage(FileSystemStorage):
    """A private file storage: the directory is ``settings.<setting>`` (default
    ``<project>/.data/<default_dir>``), read at each use, outside ``MEDIA_ROOT`` so no static
    route serves it; files have no public URL."""

    setting: str = ""
    default_dir: str = ""

    @property
    def base_location(self) -> str:  # type: ignore[override]
        root = getattr(settings, self.setting, None) or Path(settings.BASE_DIR) / ".data" / self.default_dir
        return str(root)

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("private attachments have no public URL; use the app's attachment endpoint")


def purge_unsent(queryset: QuerySet, *, older_than_hours: int = 24, limit: int = 1000) -> int:
    """Delete uploads never attached to a message within ``older_than_hours`` (``queryset``: the
    app's attachments; each has ``created_at``, ``file`` and a reverse one-to-one ``message``),
    files first. Returns how many were deleted (at most ``limit`` per call)."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    count = 0
    for attachment in queryset.filter(created_at__lt=cutoff, message__isnull=True)[:limit]:
        attachment.file.delete(save=False)
        attachment.delete()
        count += 1
    return count
