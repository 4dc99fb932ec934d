"""Ephemeral events (never stored or replayed) and presence, over a real Daphne process."""

import time

import pytest
from django.db import transaction

from realtime import ephemeral, outbox, presence
from tests.conftest import tokens_for
from tests.factories.core import UserFactory
from tests.live import WSClient
from tests.realtime.probes import ProbeTick, ProbeTyping

pytestmark = pytest.mark.live


def signed_in(live, user) -> WSClient:
    client = WSClient(live.ws_url)
    client.auth(tokens_for(user)["access"])
    return client


def test_ephemeral_event_reaches_subscribers_without_seq_and_skips_the_sender(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    a = signed_in(live, user)
    a.request("subscribe", topic=topic)
    ephemeral.send(topic=topic, event=ProbeTyping.build(state="start"))
    ev = a.next_event(topic)
    assert ev["type"] == "probe.typing" and ev["ephemeral"] is True and "seq" not in ev
    ephemeral.send(topic=topic, event=ProbeTyping.build(state="stop"), exclude_user_id=user.pk)
    with pytest.raises(TimeoutError):
        a.next_event(topic, timeout=0.6)


def test_ephemeral_events_take_no_seq_and_are_not_replayed(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    a = signed_in(live, user)
    a.request("subscribe", topic=topic)
    ephemeral.send(topic=topic, event=ProbeTyping.build())
    a.next_event(topic)
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(label="fact"))
    fact = a.next_event(topic)
    assert fact["seq"] == 1  # the ephemeral event consumed no seq
    b = signed_in(live, user)
    reply = b.request("subscribe", topic=topic, since=0)
    replayed = [(e["type"], e["data"]) for e in b.events if e["op"] == "event"]
    assert reply["data"]["recovered"] is True and replayed == [("probe.tick", {"label": "fact"})]


def test_presence_follows_subscribe_unsubscribe_and_disconnect(live):
    alice, bob = UserFactory(), UserFactory()
    topic = f"user:{alice.pk}"
    assert str(alice.pk) not in presence.present_user_ids(topic)
    phone, tablet = signed_in(live, alice), signed_in(live, alice)
    phone.request("subscribe", topic=topic)
    tablet.request("subscribe", topic=topic)
    assert presence.present_user_ids(topic) == {str(alice.pk)}
    phone.request("unsubscribe", topic=topic)
    assert presence.present_user_ids(topic) == {str(alice.pk)}  # the tablet is still there
    tablet.close()
    deadline = time.monotonic() + 5
    while presence.present_user_ids(topic) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert presence.present_user_ids(topic) == set()
    assert str(bob.pk) not in presence.present_user_ids(f"user:{bob.pk}")
