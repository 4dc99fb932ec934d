"""Photos users attach to something they write (a return, a review): uploaded first, decoded and
re-encoded without metadata (``core.images``), attached by the later request within a day or
purged, served through the API to whoever may read what they are attached to.

The rooms keep their own model (their own foreign key and storage) on :class:`PhotoFields`, and
share the rest: :func:`photo_store`, :func:`photos_purge`, :func:`photo_file_response`, the REST
rendering (:class:`PhotoOutputSerializer`) and the event payload (:class:`PhotoData`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.http import FileResponse
from django.utils import timezone
from pydantic import Field
from rest_framework import serializers

from core.exceptions import Conflict, NotFound
from core.images import DEFAULT_MAX_PIXELS, read_upload, sanitize_image
from realtime.events import Payload

#: file name extensions of the re-encoded types
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


class PhotoFields(models.Model):
    """The fields every attached photo has: who uploaded it, its re-encoded type, size in bytes
    and pixels, and when. A room's model adds the ``file`` (its storage) and the foreign key of
    what it is attached to (null until attached)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    @property
    def extension(self) -> str:
        """``jpg``, ``png``, ``gif`` or ``webp`` (``bin`` for anything else)."""
        return EXTENSIONS.get(self.content_type, "bin")


def photo_store(model: type[PhotoFields], *, user, file, attached_field: str, max_bytes: int,
                max_unattached: int) -> PhotoFields:
    """Store an uploaded photo of ``user`` as a new, unattached ``model`` row: at most
    ``max_bytes`` before re-encoding, decoded and re-encoded (``core.images.sanitize_image``); at
    most ``max_unattached`` photos of the user waiting (``attached_field`` null). Raises
    ``ApplicationError`` 400 ``invalid_image`` / ``image_too_large``, ``Conflict``
    ``too_many_unattached_photos``."""
    data = read_upload(file, max_bytes=max_bytes)
    if model.objects.filter(uploaded_by=user, **{attached_field: None}).count() >= max_unattached:
        raise Conflict("Attach the photos you uploaded first.", code="too_many_unattached_photos")
    image = sanitize_image(data, field="file", max_pixels=DEFAULT_MAX_PIXELS)
    photo = model(uploaded_by=user, content_type=image.content_type, size=len(image.data), width=image.width,
                  height=image.height)
    photo.file.save("upload", ContentFile(image.data), save=False)
    photo.save()
    return photo


def photos_purge(model: type[PhotoFields], *, attached_field: str, now: datetime | None = None,
                 older_than_hours: float = 24, batch: int = 1000) -> int:
    """Delete ``model`` photos never attached (``attached_field`` null) and uploaded more than
    ``older_than_hours`` ago, with their files, at most ``batch`` per call. Returns how many."""
    now = now or timezone.now()
    stale = list(model.objects.filter(**{attached_field: None},
                                      created_at__lt=now - timedelta(hours=older_than_hours))[:batch])
    for photo in stale:
        photo.file.delete(save=False)
    model.objects.filter(pk__in=[p.pk for p in stale]).delete()
    return len(stale)


def photo_file_response(photo: PhotoFields) -> FileResponse:
    """The photo's bytes with its content type. Raises ``NotFound`` ``photo_not_found`` when the
    file is gone."""
    try:
        handle = photo.file.open("rb")
    except OSError:
        raise NotFound("Photo not found.", code="photo_not_found") from None
    return FileResponse(handle, content_type=photo.content_type)


class PhotoOutputSerializer(serializers.Serializer):
    """A photo: ``{"id", "url", "content_type", "size", "width", "height"}``; ``url`` is
    ``url_prefix`` + id (set by the room's subclass)."""

    url_prefix = ""

    id = serializers.UUIDField()
    url = serializers.SerializerMethodField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()

    def get_url(self, photo) -> str:  # noqa: D102
        return f"{self.url_prefix}{photo.pk}/"


class PhotoData(Payload):
    """A photo in an event (as :class:`PhotoOutputSerializer` renders it)."""

    id: uuid.UUID
    url: str = Field(description="where the API serves it, to whoever may read what it is attached to")
    content_type: str
    size: int = Field(ge=0, description="bytes")
    width: int = Field(ge=0, description="pixels")
    height: int = Field(ge=0, description="pixels")
