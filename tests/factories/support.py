"""Factories of support tickets: ``open_ticket(requester=..., priority=...)`` opens one through
the real service (first message included); ``agent()`` is a support agent (marketplace admin)."""

from __future__ import annotations

from support import services
from support.models import Ticket
from tests.factories.core import AdminFactory, UserFactory


def agent(**kw):
    """A support agent: a marketplace admin (the ``admin`` role)."""
    return AdminFactory(**kw)


def open_ticket(*, requester=None, role: str = "buyer", category: str = "order", priority: str = "normal",
                subject: str = "My parcel never arrived", text: str = "Hello, where is my order?", **links) -> Ticket:
    return services.ticket_open(user=requester or UserFactory(), role=role, category=category, priority=priority,
                                subject=subject, text=text, **links)
