"""Chat leaks (issue 13, item 5; table row 14): obfuscated contact details are masked, ordinary
sentences are not, and an uploaded photo's EXIF/GPS never reaches the other side."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from chat.models import ChatAttachment
from chat.moderation import mask
from tests.chat.conftest import make_chat
from tests.conftest import client_for
from tests.images import assert_no_metadata, gps_jpeg

ZWSP = "\u200b"

#: (what a participant typed, the kind that must be hidden)
OBFUSCATED = [
    ("ali＠example．com", "email"),  # fullwidth @ and .
    ("ａｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email"),  # all fullwidth
    ("ali@example。com", "email"),  # ideographic full stop
    ("аli@ехаmple.com", "email"),  # Cyrillic а, е, х
    ("a l i @ e x a m p l e . c o m", "email"),  # spaced out
    ("ali\u00ad@exam\u200bple.com", "email"),  # soft hyphen, zero-width space
    ("ali(at)example(dot)com", "email"),
    ("ali [at] example [.] com", "email"),
    ("ali (at) example . com", "email"),
    ("ali at example dot com", "email"),
    (f"0170{ZWSP}123{ZWSP}4567", "phone"),  # digits split by zero-width spaces
    (ZWSP.join("01701234567"), "phone"),
    ("+49\u2060170\u20601234567", "phone"),  # word joiners
    ("0,1,7,0,1,2,3,4,5,6,7", "phone"),  # split by commas
    ("0, 1, 7, 0, 1, 2, 3, 4, 5, 6, 7", "phone"),
    ("0170,123,4567", "phone"),
    ("0170.123.4567", "phone"),
    ("0 1 7 0 1 2 3 4 5 6 7", "phone"),
    ("０１７０ １２３ ４５６７", "phone"),  # fullwidth digits
    ("612 345 678", "phone"),
    ("evil dot com", "link"),
    ("evil[.]com", "link"),
    ("evil(.)com", "link"),
    ("evil (dot) com", "link"),
    ("evil . com", "link"),
    ("shop dot evil dot de", "link"),
    ("e v i l . c o m", "link"),
    ("ｅｖｉｌ．ｃｏｍ", "link"),
]

#: ordinary sentences of a marketplace chat: prices, quantities, order numbers, dates and times
ORDINARY = [
    "Price 1,250.00 EUR, 2 pieces",
    "That is 1,250,000 EUR in total",
    "Price €1.250.000",
    "1 250 000 € all in",
    "I paid 1.234.567 HUF",
    "I need 1500000 pcs of M6 bolts",
    "qty 3, price 12.50",
    "sizes 36, 37, 38, 39, 40, 41",
    "Prices: 10, 20, 30, 40, 50 and 60 EUR",
    "Order #10234567 shipped",
    "Your order MK-1234567890 is ready",
    "invoice no. 20240001 attached",
    "Order 12345, SKU RAP-0001, part 06A115561B",
    "delivery on 12.05.2024 10:30",
    "delivery on 12.05.2024 between 10:30 and 12:00",
    "2024-05-12 14:00 works for me",
    "12/05/2024 - 14/05/2024",
    "meet at 10.30 - 11.00",
    "Thanks! See you at 9:45 on 3.6.2025",
    "fits 2016 golf 1.4 TSI, 280mm x 22mm",
    "the dot com bubble",
    "Ok. It works. Fine. De nada",
    "I want it dot in the middle",
    "2 x 4 boards",
    "version v1.2.3 of the manual",
    "ref 1234567.89",
    "see https://demo.market/products/1234567890",
]


@pytest.mark.parametrize(("text", "kind"), OBFUSCATED, ids=[t for t, _ in OBFUSCATED])
def test_obfuscated_contact_details_are_masked(text, kind):
    """Row 14: each obfuscation is hidden, and the words around it are kept as typed."""
    result = mask(f"write me: {text} thanks")
    assert result.kinds == [kind], result
    assert result.text == f"write me: [{kind} hidden] thanks", result.text


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_are_not_masked(text, settings):
    """Row 14, the other side: no false positive on prices, quantities, order numbers, times."""
    settings.CHAT_ALLOWED_LINK_DOMAINS = ["demo.market"]
    result = mask(text)
    assert result.text == text and not result.masked, result


@pytest.mark.django_db
def test_a_photo_with_gps_exif_is_stored_and_served_without_it(settings, tmp_path):
    """Row 14: the JPEG the other participant downloads, and the file on disk, carry no EXIF
    (no GPS, no camera, no comment); the photo is turned upright as its EXIF said (40x20
    rotated 90° -> 20x40)."""
    settings.CHAT_MEDIA_ROOT = tmp_path
    chat = make_chat()
    original = gps_jpeg()
    assert b"Exif" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    upload = client_for(chat.buyer).post(f"{chat.url}attachments/", {"file": SimpleUploadedFile("me.jpg", original, "image/jpeg")},
                                         format="multipart")
    assert upload.status_code == 201, upload.content
    attachment = upload.json()
    sent = client_for(chat.buyer).post(f"{chat.url}messages/", {"text": "the part", "image_id": attachment["id"]}, format="json")
    assert sent.status_code == 201, sent.content

    stored = ChatAttachment.objects.get(pk=attachment["id"]).file.read()
    download = client_for(chat.owner).get(attachment["url"])
    served = b"".join(download.streaming_content)
    assert served == stored and len(served) == attachment["size"]
    assert assert_no_metadata(served).size == (20, 40)


@pytest.mark.django_db
@pytest.mark.parametrize("name, data, code", [
    ("bomb.png", "huge", "image_too_large"),
    ("fake.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "invalid_image"),
    ("page.png", b"<svg onload=alert(1)>", "invalid_image"),
])
def test_uploads_that_are_not_sane_images_are_refused(settings, tmp_path, name, data, code):
    """Row 14: an image is checked by decoding it: a file with an image signature and nothing
    behind it, an SVG/HTML page, or a picture declaring more pixels than allowed are refused."""
    settings.CHAT_MEDIA_ROOT = tmp_path
    settings.CHAT_MAX_IMAGE_PIXELS = 1_000_000
    if data == "huge":
        out = io.BytesIO()
        Image.new("1", (2000, 2000)).save(out, format="PNG")  # 4 Mpx, a few hundred bytes
        data = out.getvalue()
    chat = make_chat()
    response = client_for(chat.buyer).post(f"{chat.url}attachments/", {"file": SimpleUploadedFile(name, data)}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == code, response.content
    assert not ChatAttachment.objects.exists()
