"""Demo data: a few notifications in the inbox of the demo buyer (``buyer1@demo.market``).

``seed`` is called by the ``seed_demo`` command; it is idempotent (it does nothing when the
buyer already has demo notifications, marked ``data["demo"] = True``).
"""

from __future__ import annotations

from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.db import transaction

from notifications import services
from notifications.models import Notification

DEMO_BUYER_EMAIL = "buyer1@demo.market"

DEMO_NOTIFICATIONS: list[dict[str, Any]] = [
    {
        "kind": "account.security",
        "title": "Welcome! Your account is ready",
        "body": "You signed in for the first time. If this was not you, change your password.",
        "data": {"url": "/account/security/"},
        "read": True,
    },
    {
        "kind": "order.status_changed",
        "title": "Your order has shipped",
        "body": "The courier picked up your parcel. Follow it live from the order page.",
        "data": {"url": "/orders/", "status": "shipped"},
    },
    {
        "kind": "auction.outbid",
        "title": "You were outbid on “Vintage camera”",
        "body": "Someone bid more than your maximum. Bid again before the auction ends.",
        "data": {"url": "/auctions/"},
    },
    {
        "kind": "chat.message",
        "title": "New message from Demo Store",
        "body": "Hi! The item is in stock and ships tomorrow.",
        "data": {"url": "/chats/"},
    },
]


def seed(*, stdout: TextIO | None = None, ctx: Any = None) -> int:
    """Create the demo notifications of ``buyer1@demo.market`` once; returns how many were made
    (0 when the buyer is missing or already seeded). Emails are not queued for demo rows.
    ``ctx`` (optional, from ``seed_demo``) gets ``ctx.count("notifications", n)``."""

    def say(text: str) -> None:
        if stdout is not None:
            stdout.write(text + "\n")

    user = get_user_model().objects.filter(email__iexact=DEMO_BUYER_EMAIL).first()
    if user is None:
        say(f"notifications: {DEMO_BUYER_EMAIL} does not exist, skipped")
        return 0
    if Notification.objects.filter(recipient=user, data__demo=True).exists():
        return 0  # already seeded
    created = 0
    with transaction.atomic():
        for spec in DEMO_NOTIFICATIONS:
            rows = services.notify(
                recipients=[user], kind=spec["kind"], title=spec["title"], body=spec["body"],
                data={**spec["data"], "demo": True}, send_email=False,
            )
            created += len(rows)
            if spec.get("read"):
                for n in rows:
                    services.mark_read(user=user, notification_id=n.pk)
    say(f"notifications: {created} demo notifications for {DEMO_BUYER_EMAIL}")
    if ctx is not None and hasattr(ctx, "count"):
        ctx.count("notifications", created)
    return created
