"""Product media over REST: several images per product, uploaded by the store's owners and
managers, checked by content (not name or declared type), within byte and pixel limits,
re-encoded without metadata, with two thumbnails, ordered, one primary; files in Django's default
storage and URLs in the API; carts show the primary image; everyone else is refused."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from commerce.catalog.models import ProductImage
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AdminFactory
from tests.factories.orders import buyer_with_cart
from tests.factories.stores import REFUSED, client_of, store_people

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def photo(size=(1600, 900), *, fmt="JPEG", color=(200, 60, 30), gps=True, mode="RGB") -> bytes:
    """An image from a "phone": EXIF with make and GPS (JPEG), a comment."""
    out = io.BytesIO()
    image = Image.new(mode, size, color)
    if fmt == "JPEG" and gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "PhoneCo"
        exif[ExifTags.Base.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.5),
                                       ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (13.0, 24.0, 3.0)}
        image.save(out, format=fmt, exif=exif.tobytes(), comment=b"shot at home")
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def upload(user, product, data: bytes, *, name="photo.jpg", content_type="image/jpeg", **fields):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client_of(user).post(f"/api/v1/products/{product.pk}/images/", {"file": file, **fields},
                                format="multipart")


def stored(url: str, media_root: Path) -> bytes:
    """The bytes behind a media URL of the file-system storage."""
    assert url.startswith("/media/"), url
    return (media_root / url.removeprefix("/media/")).read_bytes()


def test_an_upload_is_re_encoded_without_metadata_with_two_thumbnails(media_root):
    product = ProductFactory(vendor=VendorFactory())
    original = photo()
    assert b"PhoneCo" in original and b"shot at home" in original
    response = upload(product.vendor.owner, product, original, alt_text="Front view")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["source"], body["is_primary"], body["position"], body["alt_text"]) == ("upload", True, 0, "Front view")
    assert (body["width"], body["height"], body["content_type"]) == (1600, 900, "image/jpeg")
    main = stored(body["url"], media_root)
    assert b"PhoneCo" not in main and b"shot at home" not in main and b"Exif" not in main
    image = Image.open(io.BytesIO(main))
    assert image.format == "JPEG" and not image.getexif() and body["size_bytes"] == len(main)
    small = Image.open(io.BytesIO(stored(body["thumbnails"]["small"], media_root)))
    large = Image.open(io.BytesIO(stored(body["thumbnails"]["large"], media_root)))
    assert (small.format, small.size) == ("WEBP", (240, 135))
    assert (large.format, large.size) == ("WEBP", (800, 450))
    listed = client_of(None).get(f"/api/v1/products/{product.pk}/").json()["images"]
    assert listed == [body]


def test_a_large_photo_is_scaled_down_and_a_small_one_is_never_enlarged(media_root, settings):
    settings.PRODUCT_IMAGE_SIDE = 1000
    product = ProductFactory(vendor=VendorFactory())
    big = upload(product.vendor.owner, product, photo((3000, 1500))).json()
    assert (big["width"], big["height"]) == (1000, 500)
    tiny = upload(product.vendor.owner, product, photo((100, 50), fmt="PNG"), name="t.png",
                  content_type="image/png").json()
    assert (tiny["width"], tiny["height"], tiny["content_type"]) == (100, 50, "image/png")
    assert Image.open(io.BytesIO(stored(tiny["thumbnails"]["large"], media_root))).size == (100, 50)


def test_the_type_is_decided_by_content_not_by_name_or_declared_type(media_root):
    product = ProductFactory(vendor=VendorFactory())
    owner = product.vendor.owner
    png_named_jpg = upload(owner, product, photo(fmt="PNG", mode="RGBA", color=(0, 0, 255, 128)), name="x.jpg")
    assert png_named_jpg.status_code == 201 and png_named_jpg.json()["content_type"] == "image/png"
    assert png_named_jpg.json()["url"].endswith(".png")
    thumb = Image.open(io.BytesIO(stored(png_named_jpg.json()["thumbnails"]["small"], media_root)))
    assert thumb.mode == "RGBA"  # transparency kept
    for data, name in [(b"<?php system($_GET['c']); ?>", "shell.jpg"), (b"%PDF-1.7\n...", "doc.png"),
                       (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "truncated.jpg"),
                       (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "a.svg")]:
        response = upload(owner, product, data, name=name)
        assert response.status_code == 400 and response.json()["code"] == "invalid_image", name
        assert "file" in response.json()["fields"]
    assert ProductImage.objects.filter(product=product).count() == 1


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb's
    header: the pixels are never there)."""
    raw = io.BytesIO()
    Image.new("L", (1, 1)).save(raw, format="PNG")
    data = bytearray(raw.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_byte_and_pixel_limits_are_enforced_before_anything_is_stored(media_root, settings):
    product = ProductFactory(vendor=VendorFactory())
    owner = product.vendor.owner
    bomb = upload(owner, product, png_declaring(60_000, 60_000), name="bomb.png")
    assert bomb.status_code == 400 and bomb.json()["code"] == "image_too_large"
    settings.PRODUCT_IMAGE_MAX_PIXELS = 100 * 100
    too_many_pixels = upload(owner, product, photo((101, 100)))
    assert too_many_pixels.status_code == 400 and too_many_pixels.json()["code"] == "image_too_large"
    settings.PRODUCT_IMAGE_MAX_BYTES = 2000
    too_big = upload(owner, product, photo((90, 90), fmt="PNG", mode="RGB", color=(1, 2, 3)) + b"\x00" * 2000,
                     name="big.png")
    assert too_big.status_code == 400 and too_big.json()["code"] == "image_too_large"
    assert not ProductImage.objects.exists()
    assert not any(p.is_file() for p in media_root.rglob("*"))


def test_images_are_ordered_with_exactly_one_primary(media_root):
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor)
    owner = vendor.owner
    ids = [upload(owner, product, photo(color=(i * 40, 0, 0))).json()["id"] for i in range(3)]
    images = client_of(None).get(f"/api/v1/products/{product.pk}/images/").json()
    assert [(i["id"], i["position"], i["is_primary"]) for i in images] == \
        [(ids[0], 0, True), (ids[1], 1, False), (ids[2], 2, False)]
    made = client_for(owner).patch(f"/api/v1/products/{product.pk}/images/{ids[2]}/", {"is_primary": True},
                                   format="json")
    assert made.status_code == 200 and made.json()["is_primary"] is True
    assert list(ProductImage.objects.filter(is_primary=True).values_list("id", flat=True)) == [ids[2]]
    refused = client_for(owner).patch(f"/api/v1/products/{product.pk}/images/{ids[2]}/", {"is_primary": False},
                                      format="json")
    assert refused.status_code == 400
    order = client_for(owner).put(f"/api/v1/products/{product.pk}/images/order/", {"ids": [ids[1], ids[2], ids[0]]},
                                  format="json")
    assert order.status_code == 200 and [i["id"] for i in order.json()] == [ids[1], ids[2], ids[0]]
    shown = client_of(None).get(f"/api/v1/products/{product.pk}/").json()["images"]
    assert [(i["id"], i["position"]) for i in shown] == [(ids[1], 0), (ids[2], 1), (ids[0], 2)]
    for bad in ([ids[0], ids[1]], [ids[0], ids[1], ids[1]], [ids[0], ids[1], 999_999]):
        response = client_for(owner).put(f"/api/v1/products/{product.pk}/images/order/", {"ids": bad}, format="json")
        assert response.status_code == 400, bad
    primary_files = [stored(i["url"], media_root) for i in shown if i["is_primary"]]
    assert len(primary_files) == 1
    gone = client_for(owner).delete(f"/api/v1/products/{product.pk}/images/{ids[2]}/")
    assert gone.status_code == 204
    left = client_of(None).get(f"/api/v1/products/{product.pk}/images/").json()
    assert [(i["id"], i["is_primary"]) for i in left] == [(ids[1], True), (ids[0], False)]


def test_deleting_an_image_removes_its_files(media_root, django_capture_on_commit_callbacks):
    product = ProductFactory(vendor=VendorFactory())
    body = upload(product.vendor.owner, product, photo()).json()
    files = [media_root / u.removeprefix("/media/") for u in (body["url"], *body["thumbnails"].values())]
    assert all(f.is_file() for f in files)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(product.vendor.owner).delete(f"/api/v1/products/{product.pk}/images/{body['id']}/")
    assert not any(f.exists() for f in files)


def test_a_product_has_at_most_the_configured_number_of_images(media_root, settings):
    settings.PRODUCT_IMAGES_MAX = 2
    product = ProductFactory(vendor=VendorFactory())
    for _ in range(2):
        assert upload(product.vendor.owner, product, photo((50, 50))).status_code == 201
    third = upload(product.vendor.owner, product, photo((50, 50)))
    assert third.status_code == 409 and third.json()["code"] == "too_many_images"
    assert ProductImage.objects.filter(product=product).count() == 2
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 6  # the refused upload left no file


def cart_image(buyer) -> str | None:
    return client_for(buyer).get("/api/v1/cart/").json()["lines"][0]["product"]["image"]


def test_linked_images_stay_beside_uploads_and_the_cart_shows_the_primary(media_root):
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor, stock=5)
    owner = vendor.owner
    patched = client_for(owner).patch(f"/api/v1/products/{product.pk}/",
                                      {"images": [{"url": "https://cdn.example/a.jpg"}]}, format="json")
    assert patched.status_code == 200, patched.json()
    assert [(i["source"], i["is_primary"], i["thumbnails"]) for i in patched.json()["images"]] == [("link", True, None)]
    buyer = buyer_with_cart({product: 1})
    assert cart_image(buyer) == "https://cdn.example/a.jpg"
    uploaded = upload(owner, product, photo(), is_primary="true").json()
    assert uploaded["is_primary"] is True
    assert cart_image(buyer) == uploaded["thumbnails"]["small"]
    relinked = client_for(owner).patch(f"/api/v1/products/{product.pk}/",
                                       {"images": [{"url": "https://cdn.example/b.jpg"}]}, format="json").json()
    assert [(i["source"], i["url"], i["is_primary"]) for i in relinked["images"]] == \
        [("link", "https://cdn.example/b.jpg", False), ("upload", uploaded["url"], True)]  # by position


def test_a_manager_uploads_but_a_clerk_and_outsiders_are_refused(media_root):
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor)
    image_id = upload(vendor.owner, product, photo((60, 60))).json()["id"]
    people = store_people(vendor)
    assert upload(people["manager"], product, photo((60, 60))).status_code == 201
    base = f"/api/v1/products/{product.pk}/images"
    for who, user in people.items():
        if who == "manager":
            continue
        assert upload(user, product, photo((60, 60))).status_code in REFUSED, who
        calls = [("patch", f"{base}/{image_id}/", {"alt_text": "hijacked", "is_primary": True}),
                 ("delete", f"{base}/{image_id}/", None),
                 ("put", f"{base}/order/", {"ids": [image_id]})]
        for method, url, body in calls:
            response = getattr(client_of(user), method)(url, body, format="json")
            assert response.status_code in REFUSED, (who, method, url, response.status_code)
    assert ProductImage.objects.filter(product=product).count() == 2
    assert ProductImage.objects.get(pk=image_id).alt_text == ""
    other = ProductFactory(vendor=VendorFactory())
    foreign = client_for(vendor.owner).delete(f"/api/v1/products/{other.pk}/images/{image_id}/")
    assert foreign.status_code == 404


def test_an_image_of_another_product_is_not_found(media_root):
    vendor = VendorFactory()
    first, second = ProductFactory(vendor=vendor), ProductFactory(vendor=vendor)
    image_id = upload(vendor.owner, first, photo((60, 60))).json()["id"]
    response = client_for(vendor.owner).delete(f"/api/v1/products/{second.pk}/images/{image_id}/")
    assert response.status_code == 404 and response.json()["code"] == "image_not_found"
    assert ProductImage.objects.filter(pk=image_id).exists()


def test_storage_is_the_file_system_by_default_and_s3_compatible_when_configured(media_root):
    """The default storage of these settings writes under MEDIA_ROOT; with MEDIA_S3_BUCKET the
    settings select django-storages' S3 backend with the endpoint given (MinIO, Ceph, R2...)."""
    name = default_storage.save("probe/x.txt", io.BytesIO(b"x"))
    assert (media_root / name).read_bytes() == b"x"
    code = ("import django; django.setup(); from django.core.files.storage import storages; "
            "s = storages['default']; print(type(s).__name__, s.bucket_name, s.endpoint_url, s.location, "
            "s.file_overwrite, s.querystring_auth)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings", "DEBUG": "1", "MEDIA_S3_BUCKET": "market-media",
           "MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "MEDIA_S3_ACCESS_KEY_ID": "k",
           "MEDIA_S3_SECRET_ACCESS_KEY": "s"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.split()
    assert out[-6:] == ["S3Storage", "market-media", "http://127.0.0.1:9000", "media", "False", "True"]


def test_the_admin_shows_a_products_images_read_only(media_root, client):
    product = ProductFactory(vendor=VendorFactory())
    body = upload(product.vendor.owner, product, photo((300, 200))).json()
    operator = AdminFactory()
    client.force_login(operator)
    page = client.get(f"/admin/commerce/product/{product.pk}/change/")
    assert page.status_code == 200
    assert body["thumbnails"]["small"] in page.content.decode()
    assert "images-0-alt_text" not in page.content.decode()  # no editable image fields
