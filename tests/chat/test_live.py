"""The chat over real sockets: a Daphne process on the test database, real Redis.

Sockets connect to Daphne; REST calls and services run in the pytest process on committed data,
so their events go through the real outbox relay to the sockets.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from chat.models import Message
from commerce.stores.models import VendorStaff
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.chat.conftest import device, make_chat, subscribed
from tests.conftest import client_for, tokens_for
from core.models import User
from tests.factories.chat import ConversationFactory, send
from tests.factories.core import UserFactory
from tests.live import WSClient

pytestmark = pytest.mark.live


def no_event(client: WSClient, topic: str, type: str | None = None, wait: float = 0.5) -> bool:
    try:
        client.next_event(topic, type, timeout=wait)
    except TimeoutError:
        return True
    return False


def test_non_participants_cannot_subscribe_or_command_even_by_guessing(live):
    chat = make_chat()
    outsider = device(live, UserFactory())
    for topic in (chat.topic, f"chat:{uuid.uuid4()}", "chat:not-a-uuid", "chat:0"):
        assert outsider.request("subscribe", topic=topic)["error"]["code"] == "forbidden", topic
        for name, data in (("send", {"text": "hi"}), ("typing", {"state": "start"}), ("read", {"up_to_seq": 1})):
            reply = outsider.request("command", topic=topic, name=name, data=data)
            assert reply["status"] == "error" and reply["error"]["code"] == "forbidden", (topic, name, reply)
    assert Message.objects.count() == 0


def test_socket_send_reaches_the_other_side_and_the_event_equals_history(live):
    chat = make_chat()
    phone, [buyer_sub] = subscribed(live, chat.buyer, chat.topic)
    vendor, [vendor_sub] = subscribed(live, chat.owner, chat.topic)
    assert buyer_sub["snapshot"]["messages"] == [] and buyer_sub["snapshot"]["conversation"]["my_side"] == "buyer"
    assert vendor_sub["snapshot"]["conversation"]["my_side"] == "vendor"

    reply = phone.request("command", topic=chat.topic, name="send",
                          data={"text": "Is it in stock? Call +49 170 1234567", "client_msg_id": "p-1"})
    assert reply["status"] == "ok", reply
    assert reply["data"]["created"] is True
    event = vendor.next_event(chat.topic, "chat.message")
    history = client_for(chat.owner).get(f"{chat.url}messages/").json()["results"]
    assert event["data"] == history[-1] == reply["data"]["message"]
    assert event["data"]["text"] == "Is it in stock? Call [phone hidden]" and event["data"]["seq"] == 1
    assert phone.next_event(chat.topic, "chat.message")["data"] == event["data"]  # the sender's devices too

    retry = phone.request("command", topic=chat.topic, name="send", data={"text": "again", "client_msg_id": "p-1"})
    assert retry["data"] == {"message": event["data"], "created": False}
    assert no_event(vendor, chat.topic, "chat.message")
    # a fresh subscriber's snapshot equals what the live subscriber has
    _, [fresh] = subscribed(live, chat.clerk, chat.topic)
    assert fresh["snapshot"]["messages"] == [event["data"]]
    assert fresh["snapshot"]["read_up_to"] == {"buyer": 1, "vendor": 0}

    # edit and delete are pushed live as chat.message_updated
    edited = phone.request("command", topic=chat.topic, name="edit", data={"seq": 1, "text": "Is it in stock?"})
    assert vendor.next_event(chat.topic, "chat.message_updated")["data"] == edited["data"]["message"]
    deleted = phone.request("command", topic=chat.topic, name="delete", data={"seq": 1})
    update = vendor.next_event(chat.topic, "chat.message_updated")
    assert update["data"] == deleted["data"]["message"] and update["data"]["deleted"] is True
    bad = vendor.request("command", topic=chat.topic, name="edit", data={"seq": 1, "text": "x"})
    assert bad["error"]["code"] == "not_sender"
    junk = vendor.request("command", topic=chat.topic, name="send", data={"text": ""})
    assert junk["error"]["code"] == "invalid"


def test_typing_is_relayed_to_the_other_side_only_and_never_stored_or_replayed(live):
    chat = make_chat()
    phone, _ = subscribed(live, chat.buyer, chat.topic)
    vendor, _ = subscribed(live, chat.owner, chat.topic)
    reply = phone.request("command", topic=chat.topic, name="typing", data={"state": "start"})
    assert reply["data"] == {"state": "start", "expires_in_ms": 5000}
    typing = vendor.next_event(chat.topic, "chat.typing")
    assert typing["ephemeral"] is True and "seq" not in typing
    assert typing["data"] == {"conversation_id": chat.id, "user_id": str(chat.buyer.pk), "side": "buyer",
                              "name": chat.buyer.display_name, "state": "start", "expires_in_ms": 5000}
    assert no_event(phone, chat.topic, "chat.typing")  # not echoed to the typist
    phone.request("command", topic=chat.topic, name="typing", data={"state": "stop"})
    assert vendor.next_event(chat.topic, "chat.typing")["data"]["state"] == "stop"
    assert phone.request("command", topic=chat.topic, name="typing", data={"state": "dancing"})["error"]["code"] == "invalid"

    assert not OutboxEvent.objects.filter(topic=chat.topic).exists()
    send(chat.conversation, chat.owner, "a fact")
    vendor.next_event(chat.topic, "chat.message")
    late, replies = subscribed(live, chat.clerk)
    reply = late.request("subscribe", topic=chat.topic, since=0)
    replayed = [e["type"] for e in late.events if e.get("op") == "event"]
    assert reply["data"]["recovered"] is True and replayed == ["chat.message"]


def test_read_receipts_and_unread_counts_on_two_devices(live):
    chat = make_chat()
    user_topic = f"user:{chat.buyer.pk}"
    phone, [_, user_snap] = subscribed(live, chat.buyer, chat.topic, user_topic)
    tablet, _ = subscribed(live, chat.buyer, user_topic)
    vendor, _ = subscribed(live, chat.owner, chat.topic)
    assert user_snap["snapshot"]["chat"] == {"total_unread": 0}

    for i in range(3):
        assert client_for(chat.owner).post(f"{chat.url}messages/", {"text": f"offer {i}"}, format="json").status_code == 201
    for dev in (phone, tablet):
        counts = [dev.next_event(user_topic, "chat.unread")["data"] for _ in range(3)]
        assert counts == [{"conversation_id": chat.id, "unread": n, "total_unread": n} for n in (1, 2, 3)]

    reply = phone.request("command", topic=chat.topic, name="read", data={"up_to_seq": 3})
    assert reply["data"] == {"conversation_id": chat.id, "last_read_seq": 3, "unread": 0, "total_unread": 0}
    receipt = vendor.next_event(chat.topic, "chat.read")
    assert receipt["data"] == {"conversation_id": chat.id, "user_id": str(chat.buyer.pk), "side": "buyer", "last_read_seq": 3}
    assert tablet.next_event(user_topic, "chat.unread")["data"] == {"conversation_id": chat.id, "unread": 0, "total_unread": 0}
    assert phone.next_event(user_topic, "chat.unread")["data"]["total_unread"] == 0
    again = phone.request("command", topic=chat.topic, name="read", data={"up_to_seq": 2})
    assert again["data"]["last_read_seq"] == 3 and no_event(vendor, chat.topic, "chat.read", wait=0.3)
    _, [fresh] = subscribed(live, chat.buyer, user_topic)
    assert fresh["snapshot"]["chat"] == {"total_unread": 0}


def test_only_recipients_without_a_socket_get_one_coalesced_notification(live):
    chat = make_chat()
    watching, _ = subscribed(live, chat.owner, chat.topic)  # the owner has the conversation open
    for i in range(3):
        send(chat.conversation, chat.buyer, f"hello {i}", notify_offline=True)
    watching.next_event(chat.topic, "chat.message")
    notes = Notification.objects.filter(kind="chat.message")
    assert list(notes.values_list("recipient_id", flat=True)) == [chat.clerk.pk]  # one, not three
    note = notes.get()
    assert note.data == {"conversation_id": chat.id, "seq": 1, "context_type": "product",
                         "context_id": str(chat.conversation.context_id)}
    assert note.body == "hello 0"
    # reading re-opens the window: the next message notifies again
    client_for(chat.clerk).post(f"{chat.url}read/", {"up_to_seq": 3}, format="json")
    send(chat.conversation, chat.buyer, "are you there?", notify_offline=True)
    assert Notification.objects.filter(kind="chat.message", recipient=chat.clerk).count() == 2
    assert not Notification.objects.filter(recipient=chat.owner).exists()


def test_socket_sends_have_their_own_rate_bucket(live):
    chat = make_chat()
    phone, _ = subscribed(live, chat.buyer, chat.topic)
    codes = []
    for i in range(11):
        reply = phone.request("command", topic=chat.topic, name="send", data={"text": f"spam {i}"})
        codes.append(reply["status"] if reply["status"] == "ok" else reply["error"]["code"])
    assert codes == ["ok"] * 10 + ["rate_limited"]
    # other commands still work: the send bucket is separate
    assert phone.request("command", topic=chat.topic, name="read", data={"up_to_seq": 10})["status"] == "ok"
    assert Message.objects.filter(conversation=chat.conversation).count() == 10


def test_clerk_removed_from_the_store_loses_the_subscription_and_can_no_longer_send(live):
    # Sockets check a subscribed topic's access once, at subscribe; removing a clerk from the
    # store's staff makes their sockets check again (commerce.stores.receivers).
    chat = make_chat()
    clerk, _ = subscribed(live, chat.clerk, chat.topic)
    owner, _ = subscribed(live, chat.owner, chat.topic)
    assert clerk.request("command", topic=chat.topic, name="send", data={"text": "hello"})["status"] == "ok"
    VendorStaff.objects.filter(vendor=chat.conversation.vendor, user=chat.clerk).delete()
    revoked = clerk.next_event(chat.topic, "subscription.revoked")
    assert revoked["data"] == {"reason": "staff_removed"}
    reply = clerk.request("command", topic=chat.topic, name="send", data={"text": "still here?"})
    assert reply["status"] == "error" and reply["error"]["code"] == "forbidden", reply
    # The owner's access did not change: the subscription stays and works.
    assert owner.request("command", topic=chat.topic, name="send", data={"text": "yes"})["status"] == "ok"
    assert no_event(owner, chat.topic, "subscription.revoked")
    assert list(Message.objects.filter(conversation=chat.conversation).values_list("text", flat=True).order_by("seq")) == ["hello", "yes"]


def test_seq_stays_gapless_when_every_participant_sends_at_once(live):
    # Issue 16, correctness under load: 12 conversations, each with its buyer and four store
    # staff sending ten messages each at the same time (600 messages from 60 sockets as fast
    # as the server answers). Each conversation's messages get seq 1..50 with no gap or
    # duplicate, and a watcher of each sees 50 events in seq order with a gapless gateway seq.
    conversations = [ConversationFactory(staff=3) for _ in range(12)]
    senders = []
    for conv in conversations:
        staff = list(VendorStaff.objects.filter(vendor=conv.vendor).values_list("user", flat=True))
        for user in [conv.buyer, *User.objects.filter(pk__in=staff)]:
            senders.append((conv, user))
    assert len(senders) == 60
    watchers = {conv.pk: subscribed(live, conv.vendor.owner, f"chat:{conv.pk}")[0] for conv in conversations}

    def send_ten(entry) -> list[str]:
        conv, user = entry
        client = WSClient(live.ws_url, timeout=30)  # subscribed, as an app is: access checked once
        try:
            client.auth(tokens_for(user)["access"])
            assert client.request("subscribe", topic=f"chat:{conv.pk}")["status"] == "ok"
            return [client.request("command", topic=f"chat:{conv.pk}", name="send",
                                   data={"text": f"m{i}", "client_msg_id": f"{user.pk}-{i}"})["status"] for i in range(10)]
        finally:
            client.close()
            connection.close()

    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        statuses = [s for result in pool.map(send_ten, senders) for s in result]
    assert statuses == ["ok"] * 600
    for conv in conversations:
        assert list(Message.objects.filter(conversation=conv).order_by("seq").values_list("seq", flat=True)) == list(range(1, 51))
        events = [watchers[conv.pk].next_event(f"chat:{conv.pk}", "chat.message", timeout=20) for _ in range(50)]
        assert [e["data"]["seq"] for e in events] == list(range(1, 51))
        assert [e["seq"] for e in events] == list(range(events[0]["seq"], events[0]["seq"] + 50))
