"""The chat REST API on real PostgreSQL and Redis: conversations, sending (idempotent), history
anchors, edit window, delete, read state and unread counts, block, report, rate limit, images,
and that only participants get anywhere (403 ``forbidden`` for everyone else, also by guessing)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import ChatReadState, ChatReport, Conversation, Message
from commerce.stores.models import VendorStatus
from tests.chat.conftest import events
from tests.conftest import client_for
from tests.factories.chat import ConversationFactory, send, send_many
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db

def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


def post_message(user, chat, text="Hello", **extra):
    return client_for(user).post(f"{chat.url}messages/", {"text": text, **extra}, format="json")


# --- conversations ----------------------------------------------------------------------------


def test_buyer_opens_one_conversation_per_vendor_and_context():
    buyer = UserFactory()
    product = ProductFactory()
    api = client_for(buyer)
    body = {"vendor_id": str(product.vendor_id), "context": {"type": "product", "id": str(product.pk)}}
    first = api.post("/api/v1/chat/conversations/", body, format="json")
    assert first.status_code == 201, first.content
    again = api.post("/api/v1/chat/conversations/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    data = first.json()
    assert data["context"] == {"type": "product", "id": str(product.pk), "title": product.name}
    assert data["my_side"] == "buyer" and data["unread"] == 0 and data["last_message"] is None
    assert Conversation.objects.count() == 1
    other = ProductFactory(vendor=product.vendor)
    body["context"]["id"] = str(other.pk)
    assert api.post("/api/v1/chat/conversations/", body, format="json").status_code == 201


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("other_vendors_product", 404, "context_not_found"),
        ("unknown_product", 404, "context_not_found"),
        ("pending_vendor", 404, "vendor_not_found"),
        ("own_store", 400, "own_vendor"),
        ("unknown_order", 404, "context_not_found"),
        ("someone_elses_order", 404, "context_not_found"),
        ("bad_type", 400, "invalid"),
        ("bad_uuid", 400, "invalid"),
    ],
)
def test_opening_a_conversation_is_refused_with_a_code(case, status, code):
    buyer = UserFactory()
    product = ProductFactory()
    vendor_id, ctx = str(product.vendor_id), {"type": "product", "id": str(product.pk)}
    if case == "other_vendors_product":
        ctx["id"] = str(ProductFactory().pk)
    elif case == "unknown_product":
        ctx["id"] = str(uuid.uuid4())
    elif case == "pending_vendor":
        vendor = VendorFactory(status=VendorStatus.PENDING)
        vendor_id, ctx["id"] = str(vendor.pk), str(ProductFactory(vendor=vendor).pk)
    elif case == "own_store":
        buyer = product.vendor.owner
    elif case == "unknown_order":
        ctx = {"type": "order", "id": str(uuid.uuid4())}
    elif case == "someone_elses_order":
        from tests.factories.orders import buyer_with_cart, checkout_for

        order = checkout_for(buyer=buyer_with_cart({product: 1})).orders.get()
        ctx = {"type": "order", "id": str(order.pk)}
    elif case == "bad_type":
        ctx["type"] = "car"
    elif case == "bad_uuid":
        vendor_id = "nope"
    r = client_for(buyer).post("/api/v1/chat/conversations/", {"vendor_id": vendor_id, "context": ctx}, format="json")
    assert (r.status_code, r.json()["code"]) == (status, code), r.content


def test_a_buyer_opens_a_conversation_about_their_order():
    from tests.factories.orders import buyer_with_cart, checkout_for

    product = ProductFactory(stock=3)
    buyer = buyer_with_cart({product: 1})
    order = checkout_for(buyer=buyer).orders.get()
    r = client_for(buyer).post("/api/v1/chat/conversations/", {"vendor_id": str(product.vendor_id),
                               "context": {"type": "order", "id": str(order.pk)}}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["context"]["type"] == "order" and r.json()["context"]["id"] == str(order.pk)


def test_list_is_ordered_by_last_message_with_preview_and_unread(chat):
    older = ConversationFactory(buyer=chat.buyer)
    newest_empty = ConversationFactory(buyer=chat.buyer)
    send(older, chat.buyer, "first")
    send(chat.conversation, chat.owner, "Call me: +49 170 1234567")
    send(chat.conversation, chat.clerk, "x" * 300)
    send(older, older.vendor.owner, "reply in older")  # now `older` is the most recent
    r = client_for(chat.buyer).get("/api/v1/chat/conversations/")
    assert r.status_code == 200
    results = r.json()["results"]
    assert [c["id"] for c in results] == [str(older.pk), chat.id, str(newest_empty.pk)]
    assert results[0]["last_message"]["preview"] == "reply in older" and results[0]["unread"] == 1
    assert results[1]["unread"] == 2 and len(results[1]["last_message"]["preview"]) == 140
    assert results[2]["last_message"] is None and results[2]["unread"] == 0
    staff_view = client_for(chat.clerk).get("/api/v1/chat/conversations/").json()["results"]
    assert [c["id"] for c in staff_view] == [chat.id] and staff_view[0]["my_side"] == "vendor"
    assert staff_view[0]["unread"] == 0  # the clerk's own reply marked the owner's message read for them
    assert client_for(chat.buyer).get("/api/v1/chat/unread/").json()["total_unread"] == 3


# --- access -------------------------------------------------------------------------------------


def test_a_non_participant_cannot_read_send_or_act_even_by_guessing(chat):
    send(chat.conversation, chat.buyer, "private")
    outsider = UserFactory()
    other_staff = VendorFactory().owner  # staff of another store
    for user in (outsider, other_staff):
        api = client_for(user)
        for conv in (chat.id, str(uuid.uuid4()), "not-a-uuid", "0"):
            base = f"/api/v1/chat/conversations/{conv}/"
            replies = [
                api.get(base),
                api.get(f"{base}messages/"),
                api.post(f"{base}messages/", {"text": "hi"}, format="json"),
                api.patch(f"{base}messages/1/", {"text": "x"}, format="json"),
                api.delete(f"{base}messages/1/"),
                api.post(f"{base}read/", {"up_to_seq": 1}, format="json"),
                api.post(f"{base}block/"),
                api.post(f"{base}messages/1/report/", {"reason": "spam"}, format="json"),
                api.get(f"{base}attachments/{uuid.uuid4()}/"),
            ]
            for r in replies:
                assert r.status_code == 403 and r.json()["code"] == "forbidden", (conv, r.status_code, r.content)
        assert api.get("/api/v1/chat/conversations/").json()["results"] == []
    assert Message.objects.count() == 1
    assert client_for(chat.buyer).get(f"{chat.url}messages/").status_code == 200
    assert client_for(chat.clerk).get(f"{chat.url}messages/").status_code == 200
    assert api.__class__().get(f"{chat.url}messages/").status_code == 401


# --- sending ------------------------------------------------------------------------------------


def test_send_masks_for_participants_keeps_original_and_publishes(chat):
    r = post_message(chat.buyer, chat, "  mail me: bob@example.com  ", client_msg_id="c-1")
    assert r.status_code == 201, r.content
    msg = r.json()["message"]
    assert msg["seq"] == 1 and msg["text"] == "mail me: [email hidden]" and msg["masked"] is True
    assert msg["sender"] == {"id": str(chat.buyer.pk), "side": "buyer", "name": chat.buyer.display_name}
    stored = Message.objects.get()
    assert stored.original_text == "mail me: bob@example.com" and stored.masked_kinds == ["email"]
    assert events(chat.topic) == [("chat.message", msg)]
    for user in (chat.owner, chat.clerk):
        assert events(f"user:{user.pk}", "chat.unread") == [
            ("chat.unread", {"conversation_id": chat.id, "unread": 1, "total_unread": 1})
        ]
    assert events(f"user:{chat.buyer.pk}") == []  # nothing changed for the sender


def test_a_retried_client_msg_id_gives_one_message(chat):
    first = post_message(chat.buyer, chat, "once", client_msg_id="abc-1")
    retry = post_message(chat.buyer, chat, "once (retry)", client_msg_id="abc-1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == {"message": first.json()["message"], "created": False}
    assert Message.objects.count() == 1 and len(events(chat.topic)) == 1
    # the id is per sender: the vendor may use the same one
    assert post_message(chat.owner, chat, "hi", client_msg_id="abc-1").status_code == 201


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({"text": 5}, "text"),
        ({"text": ["a"]}, "text"),
        ({"text": "a\x00b"}, "text"),
        (r'{"text": "a\ud800b"}', "text"),  # a lone surrogate, as raw JSON
        ({}, "text"),
        ({"text": "ok", "client_msg_id": "has space"}, "client_msg_id"),
        ({"text": "ok", "client_msg_id": "x" * 65}, "client_msg_id"),
        ({"text": "ok", "image_id": "nope"}, "image_id"),
    ],
)
def test_invalid_messages_are_refused_with_400_never_500(chat, payload, field):
    api = client_for(chat.buyer)
    if isinstance(payload, str):
        r = api.generic("POST", f"{chat.url}messages/", payload.encode(), content_type="application/json")
    else:
        r = api.post(f"{chat.url}messages/", payload, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid" and field in r.json()["fields"], r.content
    assert Message.objects.count() == 0


def test_text_of_exactly_4000_characters_is_accepted(chat):
    assert post_message(chat.buyer, chat, "y" * 4000).status_code == 201


def test_sending_is_rate_limited_per_user_across_rest_and_socket(chat, settings):
    settings.CHAT_SEND_RATE_LIMITS = [(60, 3)]
    codes = [post_message(chat.buyer, chat, f"m{i}").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    r = post_message(chat.buyer, chat, "again")
    assert r.json()["code"] == "rate_limited" and r.json()["retry_after_ms"] > 0
    assert post_message(chat.owner, chat, "the vendor is not limited by the buyer").status_code == 201
    assert Message.objects.count() == 4


# --- history ------------------------------------------------------------------------------------


def test_history_paging_by_anchors_has_no_gap_or_overlap(chat):
    send_many(chat.conversation, chat.buyer, 23)
    api = client_for(chat.owner)
    seen, before = [], None
    while True:
        q = f"?limit=5&before={before}" if before else "?limit=5"
        page = api.get(f"{chat.url}messages/{q}").json()
        seqs = [m["seq"] for m in page["results"]]
        assert seqs == sorted(seqs)
        seen = seqs + seen
        if not page["has_more_before"]:
            break
        before = seqs[0]
    assert seen == list(range(1, 24))
    forward, after = [], 0
    while True:
        page = api.get(f"{chat.url}messages/?limit=7&after={after}").json()
        forward += [m["seq"] for m in page["results"]]
        if not page["has_more_after"]:
            break
        after = page["results"][-1]["seq"]
    assert forward == list(range(1, 24))
    latest = api.get(f"{chat.url}messages/?limit=3").json()
    assert [m["seq"] for m in latest["results"]] == [21, 22, 23] and latest["last_seq"] == 23
    assert api.get(f"{chat.url}messages/?after=23").json() == {
        "results": [], "has_more_before": True, "has_more_after": False, "last_seq": 23
    }
    for bad in ("?before=1&after=2", "?limit=0", "?limit=201", "?before=x", "?after=-1", f"?before={2**80}"):
        r = api.get(f"{chat.url}messages/{bad}")
        assert r.status_code == 400 and r.json()["code"] == "invalid", bad


# --- edit and delete ------------------------------------------------------------------------------


def test_edit_within_ten_minutes_then_409_edit_window_passed(chat):
    msg = send(chat.conversation, chat.buyer, "helo")
    api = client_for(chat.buyer)
    r = api.patch(f"{chat.url}messages/1/", {"text": "hello, call 0170/1234567"}, format="json")
    assert r.status_code == 200 and r.json()["text"] == "hello, call [phone hidden]" and r.json()["edited_at"]
    assert events(chat.topic)[-1] == ("chat.message_updated", r.json())
    assert client_for(chat.owner).patch(f"{chat.url}messages/1/", {"text": "x"}, format="json").json()["code"] == "not_sender"
    Message.objects.filter(pk=msg.pk).update(created_at=timezone.now() - timedelta(minutes=10, seconds=1))
    late = api.patch(f"{chat.url}messages/1/", {"text": "too late"}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "edit_window_passed"
    assert api.patch(f"{chat.url}messages/9/", {"text": "x"}, format="json").json()["code"] == "message_not_found"
    assert Message.objects.get(pk=msg.pk).original_text == "hello, call 0170/1234567"


def test_delete_by_the_sender_keeps_the_seq_and_fixes_unread(chat):
    send(chat.conversation, chat.buyer, "one")
    send(chat.conversation, chat.buyer, "two")
    assert client_for(chat.owner).delete(f"{chat.url}messages/2/").json()["code"] == "not_sender"
    r = client_for(chat.buyer).delete(f"{chat.url}messages/2/")
    assert r.status_code == 200 and r.json()["deleted"] is True and r.json()["text"] is None
    assert client_for(chat.buyer).delete(f"{chat.url}messages/2/").status_code == 200  # idempotent
    assert events(chat.topic, "chat.message_updated") == [("chat.message_updated", r.json())]
    assert events(f"user:{chat.owner.pk}", "chat.unread")[-1][1] == {"conversation_id": chat.id, "unread": 1, "total_unread": 1}
    page = client_for(chat.owner).get(f"{chat.url}messages/").json()["results"]
    assert [(m["seq"], m["text"], m["deleted"]) for m in page] == [(1, "one", False), (2, None, True)]
    edit = client_for(chat.buyer).patch(f"{chat.url}messages/2/", {"text": "x"}, format="json")
    assert edit.status_code == 409 and edit.json()["code"] == "message_deleted"


# --- read state ------------------------------------------------------------------------------------


def test_read_receipts_and_unread_counts(chat):
    second = ConversationFactory(buyer=chat.buyer)
    send_many(chat.conversation, chat.owner, 3)
    send(second, second.vendor.owner, "elsewhere")
    buyer = client_for(chat.buyer)
    assert buyer.get("/api/v1/chat/unread/").json() == {
        "total_unread": 4,
        "conversations": sorted(
            [{"conversation_id": chat.id, "unread": 3}, {"conversation_id": str(second.pk), "unread": 1}],
            key=lambda c: c["conversation_id"],
        ),
    }
    r = buyer.post(f"{chat.url}read/", {"up_to_seq": 2}, format="json")
    assert r.json() == {"conversation_id": chat.id, "last_read_seq": 2, "unread": 1, "total_unread": 2}
    assert events(chat.topic, "chat.read") == [
        ("chat.read", {"conversation_id": chat.id, "user_id": str(chat.buyer.pk), "side": "buyer", "last_read_seq": 2})
    ]
    assert events(f"user:{chat.buyer.pk}", "chat.unread")[-1][1] == {"conversation_id": chat.id, "unread": 1, "total_unread": 2}
    # going back changes nothing and publishes nothing
    n_events = len(events(chat.topic))
    assert buyer.post(f"{chat.url}read/", {"up_to_seq": 1}, format="json").json()["last_read_seq"] == 2
    # beyond the end is clamped
    assert buyer.post(f"{chat.url}read/", {"up_to_seq": 99}, format="json").json()["last_read_seq"] == 3
    assert len(events(chat.topic)) == n_events + 1
    assert buyer.get("/api/v1/chat/unread/").json()["total_unread"] == 1
    for bad in ({"up_to_seq": -1}, {"up_to_seq": "2"}, {"up_to_seq": True}, {}, {"up_to_seq": 2**80}):
        r = buyer.post(f"{chat.url}read/", bad, format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid", bad


def test_replying_marks_the_conversation_read_for_the_sender(chat):
    send_many(chat.conversation, chat.buyer, 2)
    assert ChatReadState.objects.get(conversation=chat.conversation, user=chat.owner).unread == 2
    send(chat.conversation, chat.owner, "answer")
    owner_state = ChatReadState.objects.get(conversation=chat.conversation, user=chat.owner)
    assert (owner_state.last_read_seq, owner_state.unread) == (3, 0)
    assert ChatReadState.objects.get(conversation=chat.conversation, user=chat.clerk).unread == 3
    assert events(f"user:{chat.owner.pk}", "chat.unread")[-1][1] == {"conversation_id": chat.id, "unread": 0, "total_unread": 0}


def test_staff_who_join_later_become_participants(chat):
    from tests.factories.commerce import VendorStaffFactory

    send(chat.conversation, chat.buyer, "before")
    newcomer = VendorStaffFactory(vendor=chat.conversation.vendor).user
    assert client_for(newcomer).get(f"{chat.url}messages/").status_code == 200
    send(chat.conversation, chat.buyer, "after")
    assert client_for(newcomer).get("/api/v1/chat/unread/").json()["total_unread"] == 1
    assert client_for(newcomer).post(f"{chat.url}read/", {"up_to_seq": 2}, format="json").json()["unread"] == 0


# --- block and report -----------------------------------------------------------------------------


def test_block_stops_both_sides_until_lifted(chat):
    send(chat.conversation, chat.buyer, "hi")
    other_context = ConversationFactory(buyer=chat.buyer, vendor=chat.conversation.vendor)
    r = client_for(chat.clerk).post(f"{chat.url}block/")
    assert r.status_code == 200 and r.json() == {"blocked": True, "blocked_by": ["vendor"]}
    for user in (chat.buyer, chat.owner):
        refused = post_message(user, chat, "anyone there?")
        assert refused.status_code == 403 and refused.json()["code"] == "blocked"
    assert client_for(chat.buyer).post(f"/api/v1/chat/conversations/{other_context.pk}/messages/",
                                       {"text": "x"}, format="json").json()["code"] == "blocked"
    product = ProductFactory(vendor=chat.conversation.vendor)
    opened = client_for(chat.buyer).post("/api/v1/chat/conversations/", {
        "vendor_id": str(product.vendor_id), "context": {"type": "product", "id": str(product.pk)}}, format="json")
    assert opened.status_code == 403 and opened.json()["code"] == "blocked"
    detail = client_for(chat.buyer).get(chat.url).json()
    assert detail["blocked"] is True and detail["blocked_by"] == ["vendor"]
    assert client_for(chat.buyer).get(f"{chat.url}messages/").status_code == 200  # history stays readable
    assert ("chat.block_changed", {"conversation_id": chat.id, "blocked": True, "blocked_by": ["vendor"]}) in events(chat.topic)
    assert client_for(chat.buyer).delete(f"{chat.url}block/").json() == {"blocked": True, "blocked_by": ["vendor"]}
    assert client_for(chat.owner).delete(f"{chat.url}block/").json() == {"blocked": False, "blocked_by": []}
    assert post_message(chat.buyer, chat, "thanks").status_code == 201


def test_report_goes_to_the_staff_queue_once(chat):
    send(chat.conversation, chat.owner, "pay me via wire: bob@example.com")
    send(chat.conversation, chat.buyer, "no")
    api = client_for(chat.buyer)
    r = api.post(f"{chat.url}messages/1/report/", {"reason": "scam", "comment": "wants payment off-site"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "open"
    report = ChatReport.objects.get()
    assert report.reported_text == "pay me via wire: bob@example.com" and report.reporter == chat.buyer
    again = api.post(f"{chat.url}messages/1/report/", {"reason": "spam"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_reported"
    own = api.post(f"{chat.url}messages/2/report/", {"reason": "spam"}, format="json")
    assert own.status_code == 400 and own.json()["code"] == "own_message"
    assert api.post(f"{chat.url}messages/1/report/", {"reason": "meh"}, format="json").json()["code"] == "invalid"
    assert api.post(f"{chat.url}messages/7/report/", {"reason": "spam"}, format="json").json()["code"] == "message_not_found"


# --- images ---------------------------------------------------------------------------------------


def test_image_upload_send_and_download_by_participants_only(chat, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CHAT_MEDIA_ROOT = tmp_path
    api = client_for(chat.buyer)
    up = api.post(f"{chat.url}attachments/", {"file": SimpleUploadedFile("a.png", PNG, "image/png")}, format="multipart")
    assert up.status_code == 201, up.content
    att = up.json()
    assert att["content_type"] == "image/png" and att["size"] > 0  # re-encoded (core.images), not the upload's bytes
    # not sent yet: only the uploader may fetch it, and only the uploader may attach it
    assert client_for(chat.owner).get(att["url"]).status_code == 404
    assert post_message(chat.owner, chat, "mine", image_id=att["id"]).json()["code"] == "invalid_image"
    sent = post_message(chat.buyer, chat, "photo of the part", image_id=att["id"])
    assert sent.status_code == 201 and sent.json()["message"]["image"] == att
    download = client_for(chat.owner).get(att["url"])
    served = b"".join(download.streaming_content)
    assert download.status_code == 200 and served.startswith(b"\x89PNG") and len(served) == att["size"]
    assert list(tmp_path.rglob("*.png"))  # stored privately, outside MEDIA_ROOT
    assert client_for(UserFactory()).get(att["url"]).status_code == 403
    assert post_message(chat.buyer, chat, "reuse", image_id=att["id"]).json()["code"] == "invalid_image"
    fake = api.post(f"{chat.url}attachments/", {"file": SimpleUploadedFile("a.png", b"<html>", "image/png")}, format="multipart")
    assert fake.status_code == 400 and fake.json()["code"] == "invalid_image"
    # a valid PNG signature followed by garbage does not decode: refused too
    forged = api.post(f"{chat.url}attachments/", {"file": SimpleUploadedFile("a.png", PNG[:8] + b"\x00" * 64, "image/png")},
                      format="multipart")
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_image"
    settings.CHAT_MAX_IMAGE_BYTES = 10
    big = api.post(f"{chat.url}attachments/", {"file": SimpleUploadedFile("b.png", PNG, "image/png")}, format="multipart")
    assert big.status_code == 400 and big.json()["code"] == "image_too_large"
    assert api.post(f"{chat.url}attachments/", {}, format="multipart").json()["code"] == "invalid_image"
