"""Factories of notifications.

``NotificationFactory`` writes a row directly (no counters, no events, no email): use it where
only the row matters (digest, delivery). To go through the real path use ``notify_one``.
"""

import factory
from django.utils import timezone

from notifications import services
from notifications.models import Notification, NotificationDelivery
from tests.factories.core import UserFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = "order.status_changed"
    title = factory.Sequence(lambda n: f"Notification {n}")
    body = "Something happened."
    data = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(timezone.now)


class EmailDeliveryFactory(factory.django.DjangoModelFactory):
    """A pending email delivery (what ``notify`` queues)."""

    class Meta:
        model = NotificationDelivery

    notification = factory.SubFactory(NotificationFactory)
    channel = "email"


def notify_one(user, *, kind: str = "order.status_changed", title: str = "Your order has shipped", **kwargs) -> Notification:
    """``services.notify`` for one recipient; returns its notification."""
    rows = services.notify(recipients=[user], kind=kind, title=title, body=kwargs.pop("body", "Body."), **kwargs)
    assert len(rows) == 1
    return rows[0]
