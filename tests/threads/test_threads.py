"""The shared thread machinery on its own (chat and support use it; their tests cover it through
their services): the seq append under a lock, history anchors at the edges, read-up-to, input
checks, typing expiry and image sniffing."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from core.exceptions import ApplicationError
from support import services
from support.models import TicketAttachment, TicketMessage
from support.tasks import purge_orphan_attachments
from tests.factories.support import open_ticket
from threads import sequence
from threads.images import read_image, sniff_image_type
from threads.inputs import MAX_SEQ, clean_client_msg_id, clean_seq, clean_text
from threads.typing import typing_expiry


@pytest.mark.django_db
def test_append_numbers_without_gaps_and_history_pages_by_anchors():
    ticket = open_ticket()  # seq 1
    for i in range(2, 8):
        message = sequence.append(thread=ticket, model=TicketMessage, thread_field="ticket", sender=ticket.requester,
                                  sender_side="requester", text=f"m{i}")
        assert message.seq == i == ticket.last_seq
    ticket.refresh_from_db()
    assert ticket.last_seq == 7 and ticket.last_message_at is not None
    qs = TicketMessage.objects.filter(ticket=ticket)
    page = lambda **kw: (lambda r: ([m.seq for m in r[0]], r[1], r[2]))(sequence.history(queryset=qs, last_seq=7, **kw))  # noqa: E731
    assert page(limit=3) == ([5, 6, 7], True, False)
    assert page(before=5, limit=3) == ([2, 3, 4], True, True)
    assert page(before=2, limit=3) == ([1], False, True)
    assert page(before=1) == ([], False, True)
    assert page(after=5, limit=10) == ([6, 7], True, False)
    assert page(after=7) == ([], True, False)
    assert sequence.sent_before(queryset=qs, thread_field="ticket", thread_id=ticket.pk, sender_id=ticket.requester_id,
                                client_msg_id="") is None


def test_furthest_read_per_side():
    assert sequence.furthest_read([("buyer", 3), ("vendor", 5), ("vendor", 2)], ["buyer", "vendor"]) == {"buyer": 3, "vendor": 5}
    assert sequence.furthest_read([], ["requester", "staff"]) == {"requester": 0, "staff": 0}


def test_input_checks():
    assert clean_text("  hi  ", max_length=5) == "hi"
    for bad in ("", "   ", "x" * 6, "a\x00b", 5, None):
        with pytest.raises(ApplicationError) as refused:
            clean_text(bad, max_length=5)
        assert refused.value.code == "invalid"
    assert clean_client_msg_id(None) == "" and clean_client_msg_id("abc-1") == "abc-1"
    for bad in ("with space", "x" * 65, 7):
        with pytest.raises(ApplicationError):
            clean_client_msg_id(bad)
    assert clean_seq(0, minimum=0) == 0 and clean_seq(MAX_SEQ) == MAX_SEQ
    for bad in (True, 0, MAX_SEQ + 1, "3", 1.0):
        with pytest.raises(ApplicationError):
            clean_seq(bad)
    assert (typing_expiry("start"), typing_expiry("stop")) == (5000, 0)
    with pytest.raises(ApplicationError):
        typing_expiry("typing")


def test_images_are_sniffed_capped_and_reencoded():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buffer, "PNG")
    data = buffer.getvalue()
    assert sniff_image_type(data[:16]) == "image/png" and sniff_image_type(b"GIF89a....") == "image/gif"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp" and sniff_image_type(b"%PDF-1.7") is None
    image = read_image(SimpleUploadedFile("a.png", data), max_bytes=10_000)
    assert image.content_type == "image/png" and image.data.startswith(b"\x89PNG")
    with pytest.raises(ApplicationError) as too_big:
        read_image(SimpleUploadedFile("a.png", data), max_bytes=10)
    assert too_big.value.code == "image_too_large"
    with pytest.raises(ApplicationError) as not_image:
        read_image(SimpleUploadedFile("a.pdf", b"%PDF-1.7 ..."), max_bytes=10_000)
    assert not_image.value.code == "invalid_image"


@pytest.mark.django_db
def test_unsent_uploads_are_purged_after_a_day_and_sent_ones_kept(settings, tmp_path):
    settings.SUPPORT_MEDIA_ROOT = str(tmp_path)
    ticket = open_ticket()
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    upload = lambda: services.attachment_upload(  # noqa: E731
        user=ticket.requester, ticket_id=ticket.pk, file=SimpleUploadedFile("a.png", buffer.getvalue()))
    unsent, sent, fresh = upload(), upload(), upload()
    services.message_send(user=ticket.requester, ticket_id=ticket.pk, text="photo", attachment_id=sent.pk)
    TicketAttachment.objects.filter(pk__in=[unsent.pk, sent.pk]).update(created_at=timezone.now() - timedelta(hours=25))
    path = unsent.file.path
    assert purge_orphan_attachments() == 1
    assert set(TicketAttachment.objects.values_list("pk", flat=True)) == {sent.pk, fresh.pk}
    assert not os.path.exists(path)
