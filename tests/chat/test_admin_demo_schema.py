"""Admin (originals for staff, the report queue), demo data, the OpenAPI schema and the chat's
part of the ``user:`` snapshot."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from chat import services
from chat.models import ChatBlock, ChatReport, Conversation, Message
from core.models import User
from realtime.user_topic import UserTopic
from tests.factories.chat import send
from tests.factories.core import AdminFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(AdminFactory())
    return client


def test_admin_shows_originals_to_staff_and_works_the_report_queue(staff_client, chat):
    msg = send(chat.conversation, chat.owner, "write to vera@example.com")
    services.conversation_block(user=chat.buyer, conversation_id=chat.id)
    report = services.message_report(user=chat.buyer, conversation_id=chat.id, seq=1, reason="contact_details")
    pages = [
        "/admin/chat/conversation/",
        f"/admin/chat/conversation/{chat.id}/change/",
        "/admin/chat/message/",
        f"/admin/chat/message/{msg.pk}/change/",
        "/admin/chat/chatreport/",
        "/admin/chat/chatreport/?status__exact=open",
        f"/admin/chat/chatreport/{report.pk}/change/",
        "/admin/chat/chatblock/",
        "/admin/chat/chatreadstate/",
        "/admin/chat/chatattachment/",
    ]
    for url in pages:
        r = staff_client.get(url)
        assert r.status_code == 200, url
    assert b"vera@example.com" in staff_client.get(f"/admin/chat/message/{msg.pk}/change/").content
    assert b"vera@example.com" in staff_client.get("/admin/chat/chatreport/").content
    assert staff_client.get("/admin/chat/message/add/").status_code == 403
    r = staff_client.post("/admin/chat/chatreport/", {"action": "resolve", "_selected_action": [str(report.pk)]})
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.status == "resolved" and report.handled_by is not None and report.handled_at is not None
    assert ChatBlock.objects.count() == 1


def test_seed_demo_creates_conversations_once(debug_on):
    call_command("seed_demo", stdout=io.StringIO())
    buyer = User.objects.get(email="buyer1@demo.market")
    conversation = Conversation.objects.get(buyer=buyer, vendor__owner__email="vendor1@demo.market")
    messages = list(conversation.messages.order_by("seq"))
    assert [m.seq for m in messages] == list(range(1, 7)) and conversation.last_seq == 6
    masked = messages[2]
    assert masked.text == "Great. Could you call me at [phone hidden] or write to [email hidden]?"
    assert "+49 170 1234567" in masked.original_text
    state = conversation.read_states.get(user=buyer)
    assert (state.last_read_seq, state.unread) == (5, 1)  # the store's last answer is unread
    assert conversation.read_states.get(user=conversation.vendor.owner).unread == 0
    counts = (Conversation.objects.count(), Message.objects.count())
    assert counts[0] >= 2
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert (Conversation.objects.count(), Message.objects.count()) == counts
    assert "nothing (already seeded)" in out.getvalue()


def test_openapi_schema_documents_every_chat_endpoint_without_warnings():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    base = "/api/v1/chat/conversations/"
    expected = {
        base: {"get", "post"},
        "/api/v1/chat/unread/": {"get"},
        base + "{conversation_id}/": {"get"},
        base + "{conversation_id}/messages/": {"get", "post"},
        base + "{conversation_id}/messages/{seq}/": {"patch", "delete"},
        base + "{conversation_id}/messages/{seq}/report/": {"post"},
        base + "{conversation_id}/read/": {"post"},
        base + "{conversation_id}/block/": {"post", "delete"},
        base + "{conversation_id}/attachments/": {"post"},
        base + "{conversation_id}/attachments/{attachment_id}/": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    params = {p["name"] for p in paths[base + "{conversation_id}/messages/"]["get"]["parameters"]}
    assert {"before", "after", "limit"} <= params
    problems = [m for m in list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache) if "chat" in m.lower()]
    assert problems == []


def test_user_topic_snapshot_carries_the_total_unread(chat):
    send(chat.conversation, chat.owner, "one")
    send(chat.conversation, chat.owner, "two")
    assert UserTopic().snapshot(user=chat.buyer, key=str(chat.buyer.pk))["chat"] == {"total_unread": 2}
    assert UserTopic().snapshot(user=chat.owner, key=str(chat.owner.pk))["chat"] == {"total_unread": 0}
    assert ChatReport.objects.count() == 0
