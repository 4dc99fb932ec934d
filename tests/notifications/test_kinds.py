"""The kinds registry: documented built-in kinds, registration rules, errors at the call."""

import pytest

from notifications import services
from notifications.kinds import (
    CHANNELS,
    EMAIL,
    IN_APP,
    UnknownNotificationKind,
    all_kinds,
    get_kind,
    register_kind,
)
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.factories.core import UserFactory

BUILT_IN = {
    "order.status_changed", "auction.outbid", "auction.won", "auction.ending_soon", "chat.message",
    "delivery.arriving", "payment.succeeded", "payment.failed", "payment.refunded", "account.security",
}


def test_built_in_kinds_are_registered_and_described():
    names = {k.name for k in all_kinds()}
    assert BUILT_IN <= names
    for k in all_kinds():
        assert k.description
        assert k.default_channels <= set(CHANNELS)


def test_account_security_and_payment_results_are_critical_on_every_channel():
    for name in ("account.security", "payment.succeeded", "payment.failed", "payment.refunded"):
        k = get_kind(name)
        assert k.critical
        assert all(k.default_for(ch) for ch in CHANNELS)
    assert not get_kind("chat.message").critical
    assert get_kind("chat.message").default_for(IN_APP) and not get_kind("chat.message").default_for(EMAIL)


def test_register_a_new_kind_and_reregister_it_identically(temp_kinds):
    k = register_kind("review.published", description="A review was published.", default_channels=(IN_APP,))
    assert get_kind("review.published") is k
    assert register_kind("review.published", description="A review was published.", default_channels=(IN_APP,)) is k


def test_redefining_a_kind_differently_is_refused(temp_kinds):
    with pytest.raises(ValueError, match="already registered"):
        register_kind("order.status_changed", description="Something else.")


@pytest.mark.parametrize("name", ["nodot", "Upper.case", "a..b", "a.b-c", "", "x." + "y" * 80, None])
def test_malformed_kind_names_are_refused(temp_kinds, name):
    with pytest.raises(ValueError):
        register_kind(name, description="d")


def test_unknown_channel_in_a_kind_is_refused(temp_kinds):
    with pytest.raises(ValueError, match="unknown channel"):
        register_kind("x.y", description="d", default_channels=("sms",))


def test_critical_kind_is_on_for_every_channel_whatever_the_defaults(temp_kinds):
    k = register_kind("wallet.frozen", description="d", critical=True, default_channels=())
    assert k.default_channels == frozenset(CHANNELS)


def test_get_kind_of_unknown_name_raises_a_value_error():
    with pytest.raises(UnknownNotificationKind) as info:
        get_kind("no.such_kind")
    assert isinstance(info.value, ValueError)
    assert "no.such_kind" in str(info.value)


def test_notify_with_unknown_kind_raises_at_the_call_and_writes_nothing(db):
    user = UserFactory()
    with pytest.raises(UnknownNotificationKind, match="unknown notification kind 'order.shiped'"):
        services.notify(recipients=[user], kind="order.shiped", title="Typo")
    assert not Notification.objects.exists()
    assert not OutboxEvent.objects.exists()
