"""Each user's unread total is a counter row (``ChatUserLock.total_unread``) kept in the same
transaction as the read states: after any sequence of sends, reads, deletes and clerks joining
or leaving the store it equals a recount (``chat.selectors.unread_totals``), and every
``chat.unread`` event carries the recount of its moment."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors, services
from chat.models import ChatUserLock, Message
from commerce.stores.models import VendorStaff
from core.models import User
from realtime.models import OutboxEvent
from tests.factories.chat import ConversationFactory, send
from tests.factories.commerce import ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


def counters(users) -> dict:
    rows = dict(ChatUserLock.objects.filter(user__in=users).values_list("user_id", "total_unread"))
    return {u.pk: rows.get(u.pk, 0) for u in users}


def recount(users) -> dict:
    return selectors.unread_totals(user_ids=[u.pk for u in users])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counter_equals_a_recount_after_a_random_sequence_of_sends_reads_deletes_and_staff_changes(seed):
    rng = random.Random(seed)
    stores = [VendorFactory(), VendorFactory()]
    clerks = [UserFactory() for _ in range(3)]
    buyers = [UserFactory() for _ in range(3)]
    conversations = [ConversationFactory(buyer=b, product=ProductFactory(vendor=v)) for b in buyers for v in stores]
    users = buyers + clerks + [v.owner for v in stores]
    last_event = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    checked = 0
    for step in range(150):
        conv = rng.choice(conversations)
        side = selectors.participant_ids(conversation=conv)
        op = rng.random()
        if op < 0.5:
            send(conv, User.objects.get(pk=rng.choice(side)), f"m{step}")
        elif op < 0.75:
            conv.refresh_from_db()
            services.conversation_mark_read(user=User.objects.get(pk=rng.choice(side)),
                                            conversation_id=conv.pk, up_to_seq=rng.randint(0, conv.last_seq))
        elif op < 0.85:
            mine = list(Message.objects.filter(conversation=conv, deleted=False, sender_id__in=side).select_related("sender")[:20])
            if mine:
                m = rng.choice(mine)
                services.message_delete(user=m.sender, conversation_id=conv.pk, seq=m.seq)
        else:  # a clerk joins or leaves a store (their read states stay; they count only while on the staff)
            clerk, store = rng.choice(clerks), rng.choice(stores)
            member = VendorStaff.objects.filter(vendor=store, user=clerk).first()
            if member:
                member.delete()
            else:
                VendorStaffFactory(vendor=store, user=clerk)
        assert counters(users) == recount(users), (seed, step, op)
        # every chat.unread event since the last step carries the recount of the end of its step
        # (at most one per user per step here)
        now = recount(users)
        for e in OutboxEvent.objects.filter(id__gt=last_event, type="chat.unread"):
            uid = e.topic.split(":", 1)[1]
            assert e.data["total_unread"] == now[next(u.pk for u in users if str(u.pk) == uid)], (seed, step)
            checked += 1
        last_event = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or last_event
    assert any(recount(users).values()) and checked > 50  # unread messages left to count, events checked


def test_a_send_to_a_store_with_many_conversations_does_not_sum_them(settings):
    """The owner of 30 conversations gets a message: the send reads and writes their counter row,
    never a SUM over their read states."""
    settings.CHAT_SEND_RATE_LIMITS = []
    store = VendorFactory()
    conversations = [ConversationFactory(product=ProductFactory(vendor=store)) for _ in range(30)]
    for c in conversations:
        send(c, c.buyer, "hello")
    with CaptureQueriesContext(connection) as ctx:
        send(conversations[0], conversations[0].buyer, "again")
    assert not [q["sql"] for q in ctx.captured_queries if "SUM(" in q["sql"].upper()]
    assert counters([store.owner]) == recount([store.owner]) == {store.owner.pk: 31}


def test_a_former_clerk_counts_again_when_they_return():
    store = VendorFactory()
    clerk = UserFactory()
    member = VendorStaffFactory(vendor=store, user=clerk)
    conv = ConversationFactory(product=ProductFactory(vendor=store))
    send(conv, conv.buyer, "one")
    assert counters([clerk]) == {clerk.pk: 1}
    member.delete()
    assert counters([clerk]) == {clerk.pk: 0}
    send(conv, conv.buyer, "two")  # their read state counts on, their total does not
    assert counters([clerk]) == recount([clerk]) == {clerk.pk: 0}
    VendorStaffFactory(vendor=store, user=clerk)
    assert counters([clerk]) == recount([clerk]) == {clerk.pk: 2}
