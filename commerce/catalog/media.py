"""Product media: images uploaded through the API, with their thumbnails, order and primary image.

An upload is checked and cleaned before anything is stored (``core.images.sanitize_image``): its
type by content (JPEG, PNG, GIF or WebP, whatever the name or declared type says), at most
``PRODUCT_IMAGE_MAX_BYTES`` bytes, ``PRODUCT_IMAGE_MAX_PIXELS`` pixels and
``PRODUCT_IMAGE_MAX_SIDE`` per side (checked from the header, before decoding); it is decoded,
turned upright and re-encoded without EXIF/XMP/comments (a phone photo's GPS position never
reaches buyers), scaled to at most ``PRODUCT_IMAGE_SIDE`` pixels. Two thumbnails are made from
the clean pixels (``PRODUCT_THUMBNAIL_SIDES``: ``small`` for lists and carts, ``large`` for the
product page), as WebP. The three files are saved under new random names in Django's default
storage (the file system, or S3-compatible storage through django-storages: ``MEDIA_S3_BUCKET``),
so a URL never changes meaning and can be cached for ever.

Order and primary. A product has at most ``PRODUCT_IMAGES_MAX`` images (uploads and links
together), ordered by ``position``; exactly one is primary while it has any (a database
constraint): the first image becomes primary, a new one only when asked, and when the primary is
deleted the first remaining one takes over. Who: the owners and managers of the product's active
store (``commerce.catalog.selectors.product_get_editable``).

Lock order: the product (``FOR UPDATE``), then its images. Files are written before the
transaction (storage is not transactional) and removed again if it fails; files of a deleted image
are removed after commit. When the primary image changes, carts holding the product are refreshed
(``products_changed``: a cart line shows the primary image), and every change publishes the
product page (``product.updated`` on ``product:<id>``, ``commerce.catalog.pages``).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from PIL import Image

from core.exceptions import ApplicationError, Conflict, NotFound
from core.images import sanitize_image

from commerce.catalog.models import Product, ProductImage
from commerce.catalog.pages import publish_pages
from commerce.catalog.selectors import product_get_editable
from commerce.catalog.signals import products_changed
from commerce.common.validation import as_uuid, invalid

#: file name extension of each re-encoded content type
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
THUMBNAIL_QUALITY = 82


def _too_large(limit: int) -> ApplicationError:
    return ApplicationError(f"An image may be at most {limit // (1024 * 1024)} MiB.", code="image_too_large",
                            fields={"file": ["Too large."]})


def read_upload(file: Any, *, limit: int) -> bytes:
    """The bytes of an uploaded ``file`` (a file object), refusing more than ``limit`` bytes
    without reading them all. Raises ``ApplicationError`` 400 ``invalid_image`` (no file) or
    ``image_too_large``."""
    if file is None or not hasattr(file, "read"):
        raise ApplicationError("Attach an image file (multipart field 'file').", code="invalid_image",
                               fields={"file": ["No file."]})
    if (getattr(file, "size", 0) or 0) > limit:
        raise _too_large(limit)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return bytes(data)


def make_thumbnails(data: bytes, *, sides: dict[str, int]) -> dict[str, bytes]:
    """WebP thumbnails ``{name: bytes}`` of the (already clean) image ``data``, one per ``sides``
    entry, at most that many pixels on the longest side (never enlarged), alpha kept. The image is
    decoded once; each thumbnail is scaled from the next larger one (LANCZOS)."""
    out: dict[str, bytes] = {}
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
        current = image.convert(mode)
        for name, side in sorted(sides.items(), key=lambda item: -int(item[1])):
            current.thumbnail((int(side), int(side)), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            current.save(buffer, format="WEBP", quality=THUMBNAIL_QUALITY, method=4)
            out[name] = buffer.getvalue()
    return out


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        if name:
            try:
                default_storage.delete(name)
            except OSError:  # already gone, or storage down: an orphan file is harmless
                pass


def _files_of(image: ProductImage) -> list[str]:
    return [f.name for f in (image.file, image.thumbnail_small, image.thumbnail_large) if f]


def _lock_product(user, product_id: Any) -> Product:
    """The product, locked, after the permission check (re-checked under the lock)."""
    product_get_editable(user=user, product_id=product_id)
    product = Product.objects.select_for_update().filter(pk=product_id, deleted_at__isnull=True).first()
    if product is None:
        raise NotFound("Product not found.", code="product_not_found")
    return product


def _lock_image(product: Product, image_id: Any) -> ProductImage:
    try:
        pk = int(image_id)
    except (TypeError, ValueError):
        pk = None
    image = ProductImage.objects.select_for_update().filter(pk=pk, product=product).first() if pk else None
    if image is None:
        raise NotFound("Image not found.", code="image_not_found")
    return image


def _alt_text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
        raise invalid("alt_text", "At most 200 characters.")
    return value.strip()


def _set_primary(product: Product, image: ProductImage) -> bool:
    """Make ``image`` the product's primary image (locked rows). Returns whether it changed."""
    if image.is_primary:
        return False
    ProductImage.objects.filter(product=product, is_primary=True).update(is_primary=False)
    image.is_primary = True
    image.save(update_fields=["is_primary"])
    return True


def ensure_primary(product: Product) -> None:
    """Give ``product`` (locked) a primary image when it has images and none is primary: the
    first by position."""
    if ProductImage.objects.filter(product=product, is_primary=True).exists():
        return
    first = ProductImage.objects.filter(product=product).order_by("position", "id").first()
    if first is not None:
        first.is_primary = True
        first.save(update_fields=["is_primary"])


def product_image_upload(*, user, product_id: uuid.UUID, file: Any, alt_text: str | None = None,
                         is_primary: bool = False) -> ProductImage:
    """Add an uploaded image to a product (see the module docstring): checked, re-encoded without
    metadata, two thumbnails, stored; placed last; primary if ``is_primary`` or if the product
    had no image. Returns the new image.

    Raises ``Forbidden`` (``not_vendor``, ``role_forbidden``), ``NotFound``
    (``product_not_found``), ``ApplicationError`` 400 ``invalid_image`` (no file, not a
    JPEG/PNG/GIF/WebP by content, corrupt) or ``image_too_large`` (bytes or pixels) naming the
    field ``file``, ``invalid`` (``alt_text``), ``Conflict`` ``too_many_images``. Nothing is
    stored on a refusal.
    """
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    product_get_editable(user=user, product_id=product_id)  # before decoding anything a stranger sends
    alt = _alt_text(alt_text)
    data = read_upload(file, limit=int(settings.PRODUCT_IMAGE_MAX_BYTES))
    clean = sanitize_image(data, field="file", max_pixels=int(settings.PRODUCT_IMAGE_MAX_PIXELS),
                           max_side=int(settings.PRODUCT_IMAGE_MAX_SIDE),
                           output_side=int(settings.PRODUCT_IMAGE_SIDE))
    thumbs = make_thumbnails(clean.data, sides=settings.PRODUCT_THUMBNAIL_SIDES)
    stem = f"products/{product_id}/{uuid.uuid4().hex}"
    names: list[str] = []
    try:
        names.append(default_storage.save(f"{stem}.{EXTENSIONS[clean.content_type]}", ContentFile(clean.data)))
        small = default_storage.save(f"{stem}-small.webp", ContentFile(thumbs["small"]))
        names.append(small)
        large = default_storage.save(f"{stem}-large.webp", ContentFile(thumbs["large"]))
        names.append(large)
        with transaction.atomic():
            product = _lock_product(user, product_id)
            images = ProductImage.objects.filter(product=product)
            if images.count() >= int(settings.PRODUCT_IMAGES_MAX):
                raise Conflict(f"A product has at most {settings.PRODUCT_IMAGES_MAX} images; delete one first.",
                               code="too_many_images")
            last = images.aggregate(m=Max("position"))["m"]
            image = ProductImage.objects.create(
                product=product, file=names[0], thumbnail_small=small, thumbnail_large=large,
                content_type=clean.content_type, width=clean.width, height=clean.height, size_bytes=len(clean.data),
                alt_text=alt, position=0 if last is None else last + 1, uploaded_by=user)
            if is_primary or last is None:
                _set_primary(product, image)
                products_changed.send(sender=Product, product_ids=[product.pk])
            publish_pages(product_ids=[product.pk])
    except BaseException:
        _delete_files(names)
        raise
    return image


def product_image_update(*, user, product_id: uuid.UUID, image_id: Any, alt_text: str | None = None,
                         is_primary: bool | None = None) -> ProductImage:
    """Change an image's ``alt_text`` and/or make it the primary image (``is_primary: true``;
    ``false`` is refused: choose another image as primary instead). Same refusals as
    :func:`product_image_upload` (``image_not_found`` for another product's image)."""
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    if is_primary is False:
        raise invalid("is_primary", "A product always has one primary image: make another image primary instead.")
    with transaction.atomic():
        product = _lock_product(user, product_id)
        image = _lock_image(product, image_id)
        if alt_text is not None:
            image.alt_text = _alt_text(alt_text)
            image.save(update_fields=["alt_text"])
        if is_primary and _set_primary(product, image):
            products_changed.send(sender=Product, product_ids=[product.pk])
        publish_pages(product_ids=[product.pk])
    return image


def product_image_delete(*, user, product_id: uuid.UUID, image_id: Any) -> None:
    """Delete an image (its files are removed after commit). When it was the primary image, the
    first remaining one becomes primary. Same refusals as :func:`product_image_update`."""
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        product = _lock_product(user, product_id)
        image = _lock_image(product, image_id)
        files, was_primary = _files_of(image), image.is_primary
        image.delete()
        if was_primary:
            ensure_primary(product)
            products_changed.send(sender=Product, product_ids=[product.pk])
        publish_pages(product_ids=[product.pk])
        transaction.on_commit(lambda: _delete_files(files), robust=True)


def product_images_reorder(*, user, product_id: uuid.UUID, image_ids: Any) -> list[ProductImage]:
    """Put a product's images in the order of ``image_ids`` (every image id of the product,
    each once). Returns the images in their new order. Same refusals as
    :func:`product_image_update`, and ``invalid`` (``ids``) when the list is not exactly the
    product's images."""
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        product = _lock_product(user, product_id)
        images = {img.pk: img for img in ProductImage.objects.select_for_update().filter(product=product)}
        if (not isinstance(image_ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in image_ids)
                or len(image_ids) != len(images) or set(image_ids) != set(images)):
            raise invalid("ids", "List every image id of the product exactly once.")
        for position, pk in enumerate(image_ids):
            images[pk].position = position
        ProductImage.objects.bulk_update(list(images.values()), ["position"])
        publish_pages(product_ids=[product.pk])
    return [images[pk] for pk in image_ids]

