"""realtime.events: topic kinds build every topic name, each event type has one class (schema and
builder) named after it, and the one publishing door of each kind refuses what does not fit."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from chat.events import CHAT_TOPIC, ChatTyping
from commerce.cart.events import CART_TOPIC, CartUpdated
from notifications.events import NotificationCounts
from realtime import ephemeral, outbox, registry
from realtime.asyncapi import documented_event_types
from realtime.events import (
    EventSchema,
    InvalidEvent,
    SubscriptionRevoked,
    TopicKind,
    Topics,
    camel_name,
    get_event_type,
    topic_kinds,
)
from realtime.models import OutboxEvent
from realtime.user_topic import USER_TOPIC
from tests.conftest import read_event_log

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "realtime", "notifications", "commerce", "auctions", "delivery", "chat", "simulator")


def product_sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, path.read_text()


# --- topic kinds -------------------------------------------------------------------------------

def test_a_kind_builds_its_topic_names_and_refuses_keys_a_topic_cannot_hold():
    uid = uuid.uuid4()
    assert CART_TOPIC.name(uid) == f"cart:{uid}"
    assert USER_TOPIC.name(7) == "user:7"
    for bad in ("", "a b", "x" * 65, "ü", "a:b"):
        with pytest.raises(ValueError):
            CART_TOPIC.name(bad)


def test_a_kind_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        TopicKind("cart", key="again")
    with pytest.raises(ValueError, match="bad topic kind"):
        TopicKind("Cart", key="upper case")


def test_every_topic_the_gateway_serves_is_a_declared_kind_with_event_types_and_the_reverse():
    product = {k.kind for k in topic_kinds() if any(not e.__module__.startswith("tests.") for e in k.events)}
    assert product == set(registry.registered_kinds()) == {"user", "cart", "vendor", "auction", "delivery", "chat",
                                                                           "product", "ticket", "support_queue"}


HAND_BUILT = re.compile(r"""(f["'](user|cart|vendor|auction|delivery|chat|product|ticket|support_queue):\{)|(["'](user|cart|vendor|auction|delivery|chat|product|ticket|support_queue):["']\s*\+)""")


def test_no_topic_name_is_written_by_hand_in_the_product():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path, text in product_sources()
        for n, line in enumerate(text.splitlines(), 1)
        if HAND_BUILT.search(line) and "not a topic" not in line
    ]
    assert offenders == []


# --- event types -------------------------------------------------------------------------------

def test_the_class_of_an_event_type_is_named_after_it():
    assert camel_name("chat.message_updated") == "ChatMessageUpdated"
    with pytest.raises(TypeError, match="must be named ProbeRenamed"):
        class ProbeWrong(EventSchema):
            """Wrong name."""

            type: ClassVar[str] = "probe.renamed"
            topics: ClassVar[Topics] = (USER_TOPIC,)


def test_an_event_type_is_declared_once():
    with pytest.raises(TypeError, match="declared twice"):
        class CartUpdated(EventSchema):  # noqa: F811 - the point of the test
            """Again."""

            type: ClassVar[str] = "cart.updated"
            topics: ClassVar[Topics] = (CART_TOPIC,)


def test_an_event_type_lists_its_topics_and_has_a_docstring():
    with pytest.raises(TypeError, match="topics"):
        class ProbeNowhere(EventSchema):
            """No topics."""

            type: ClassVar[str] = "probe.nowhere"
            topics: ClassVar[Topics] = ()
    with pytest.raises(TypeError, match="docstring"):
        class ProbeUndocumented(EventSchema):
            type: ClassVar[str] = "probe.undocumented"
            topics: ClassVar[Topics] = (USER_TOPIC,)
    assert get_event_type("cart.updated") is CartUpdated


def test_every_product_event_type_has_a_builder_of_its_own_kind():
    for cls in documented_event_types():
        if cls.topics is None:
            continue  # sent by the gateway itself
        owners = [base for base in cls.__mro__ if "build" in vars(base)]
        assert owners and owners[0] is not EventSchema and owners[0].__module__ == cls.__module__, cls.type


def test_no_product_module_keeps_an_event_type_in_a_string_constant():
    """The class is the constant: ``CartUpdated.type``, never ``CART_UPDATED = "cart.updated"``."""
    types = {cls.type for cls in documented_event_types()}
    offenders = []
    for path, text in product_sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in types:
                if not any(isinstance(t, ast.Name) and t.id == "type" for t in node.targets):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_only_the_outbox_writes_outbox_rows_and_only_realtime_sends_event_frames():
    offenders = []
    for path, text in product_sources():
        # the doors (outbox, ephemeral, direct), the outbox's table, and the hub that hands the frames out
        if path.parts[-2:] in (("realtime", "outbox.py"), ("realtime", "ephemeral.py"), ("realtime", "direct.py"),
                               ("realtime", "models.py"), ("realtime", "hub.py")):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if re.search(r"OutboxEvent\(|OutboxEvent\.objects\.(create|bulk_create)|\"rt\.(event|ephemeral)\"", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


# --- the doors ---------------------------------------------------------------------------------

def _cart_event(user_id):
    return CartUpdated.build({"id": uuid.uuid4(), "lines": [], "total": "0.00", "currency": "EUR", "item_count": 0,
                              "version": 1, "updated_at": "2026-11-22T10:00:00.000Z", "reservation": None,
                              "shipping": {"address": None, "stores": []}})


def test_publish_refuses_a_topic_of_a_kind_the_type_does_not_go_on(db):
    uid = uuid.uuid4()
    with pytest.raises(ValueError, match="not published on user: topics"):
        outbox.publish(topic=USER_TOPIC.name(uid), event=_cart_event(uid))
    with pytest.raises(ValueError, match="malformed topic"):
        outbox.publish(topic="cart", event=_cart_event(uid))
    with pytest.raises(ValueError, match="not published on user"):
        outbox.publish_many([(CART_TOPIC.name(uid), _cart_event(uid)), (USER_TOPIC.name(uid), _cart_event(uid))])
    assert not OutboxEvent.objects.exists()  # publish_many checks every event before writing any
    with pytest.raises(ValueError, match="not an event of a declared type"):
        outbox.publish(topic=CART_TOPIC.name(uid), event={"type": "cart.updated", "data": {}})


def test_ephemeral_types_go_only_through_the_ephemeral_door_and_control_events_through_none(db):
    topic = CHAT_TOPIC.name(uuid.uuid4())
    typing = ChatTyping.event({"conversation_id": uuid.uuid4(), "user_id": uuid.uuid4(), "side": "buyer", "name": "",
                               "state": "start", "expires_in_ms": 5000})
    with pytest.raises(ValueError, match="realtime.ephemeral.send"):
        outbox.publish(topic=topic, event=typing)
    uid = uuid.uuid4()
    with pytest.raises(ValueError, match="realtime.outbox.publish"):
        ephemeral.send(topic=CART_TOPIC.name(uid), event=_cart_event(uid))
    with pytest.raises(ValueError, match="sent by the gateway"):
        outbox.publish(topic=topic, event=SubscriptionRevoked.event({"reason": "tracking_ended"}))
    assert not OutboxEvent.objects.exists()


@pytest.fixture
def private_event_log(tmp_path, monkeypatch):
    """Records of this test go to their own file: the invalid events it makes on purpose must not
    fail the session (tests/conftest.py)."""
    log = tmp_path / "events.log"
    monkeypatch.setenv("REALTIME_EVENT_LOG", str(log))
    return log


@pytest.mark.parametrize("data, error", [
    ({"unread": -1, "unseen": 0}, "unread: Input should be greater than or equal to 0"),
    ({"unread": "1", "unseen": 0}, "unread: Input should be a valid integer"),
    ({"unread": 1}, "unseen: Field required"),
    ({"unread": 1, "unseen": 0, "total": 1}, "total: Extra inputs are not permitted"),
])
def test_with_validation_on_an_invalid_payload_is_refused_and_nothing_is_written(db, private_event_log, data, error):
    with pytest.raises(InvalidEvent, match=re.escape(error)):
        outbox.publish(topic=USER_TOPIC.name(uuid.uuid4()), event=NotificationCounts.event(data))
    assert not OutboxEvent.objects.exists()
    (line,) = private_event_log.read_text().splitlines()
    assert line.split("\t")[1:3] == ["notification.counts", "invalid"]


def test_a_valid_event_is_recorded_as_checked(db, private_event_log):
    outbox.publish(topic=USER_TOPIC.name(uuid.uuid4()), event=NotificationCounts.build(unread=2, unseen=1))
    (line,) = private_event_log.read_text().splitlines()
    assert line.split("\t")[1:3] == ["notification.counts", "ok"]


def test_with_validation_off_as_in_production_the_payload_is_not_checked(db, settings, private_event_log):
    settings.REALTIME = {**settings.REALTIME, "VALIDATE_EVENTS": False}
    row = outbox.publish(topic=USER_TOPIC.name(uuid.uuid4()), event=NotificationCounts.event({"unread": -1, "unseen": 0}))
    assert row.data == {"unread": -1, "unseen": 0}
    assert not private_event_log.exists()
    with pytest.raises(ValueError, match="not published on cart"):  # the topic check stays on
        outbox.publish(topic=CART_TOPIC.name(uuid.uuid4()), event=NotificationCounts.build(unread=1, unseen=0))


# --- realtime_publish (operators) --------------------------------------------------------------

def test_realtime_publish_refuses_unknown_types_invalid_data_and_foreign_kinds(db, private_event_log):
    topic = USER_TOPIC.name(uuid.uuid4())
    with pytest.raises(CommandError, match="unknown event type"):
        call_command("realtime_publish", topic, "system.anouncement", "--data", '{"text": "x"}')
    with pytest.raises(CommandError, match="text"):
        call_command("realtime_publish", topic, "system.announcement", "--data", '{"txt": "x"}')
    with pytest.raises(CommandError, match="not published on cart"):
        call_command("realtime_publish", CART_TOPIC.name(uuid.uuid4()), "system.announcement", "--data", '{"text": "x"}')
    assert not OutboxEvent.objects.exists()


def test_realtime_publish_validates_even_with_validation_off(db, settings, private_event_log):
    settings.REALTIME = {**settings.REALTIME, "VALIDATE_EVENTS": False}
    with pytest.raises(CommandError, match="text"):
        with transaction.atomic():
            call_command("realtime_publish", USER_TOPIC.name(uuid.uuid4()), "system.announcement", "--data", '{"text": ""}')


# --- the session's check ---------------------------------------------------------------------

def test_the_session_check_counts_valid_events_and_collects_invalid_ones_of_any_process(tmp_path):
    log = tmp_path / "events.log"
    log.write_text("101\tcart.updated\tok\t\n101\tcart.updated\tok\t\n"
                   "202\tchat.read\tinvalid\tlast_read_seq: Input should be greater than or equal to 0\n"
                   "303\tnotification.counts\tok\t\n")
    ok, invalid, pids = read_event_log(log)
    assert ok == {"cart.updated": 2, "notification.counts": 1}
    assert invalid == ["chat.read (pid 202): last_read_seq: Input should be greater than or equal to 0"]
    assert pids == {"101", "202", "303"}
