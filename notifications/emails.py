"""Composing notification emails from Django templates (plain text + HTML alternative).

Templates live in ``templates/notifications/email/``. A kind may have its own templates
``<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html`` (e.g. ``order.status_changed.txt``);
otherwise ``notification.*`` are used. The digest uses ``digest.*``. A message to an address
rather than an account (an invitation to someone who may not have one yet) is rendered from the
caller's own templates (:func:`address_message`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.models import Notification

DIR = "notifications/email"


def _site() -> dict[str, str]:
    base = settings.FRONTEND_URL.rstrip("/")
    return {
        "site_name": getattr(settings, "SITE_NAME", "Marketplace"),
        "site_url": base,
        "inbox_url": f"{base}/notifications/",
        "preferences_url": f"{base}/notifications/preferences/",
    }


def link_for(n: Notification) -> str:
    """Where the email sends the reader: ``data["url"]`` when it is a site-relative path
    (``/orders/…``), else the inbox entry of the notification."""
    base = settings.FRONTEND_URL.rstrip("/")
    url = n.data.get("url") if isinstance(n.data, dict) else None
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
        return base + url
    return f"{base}/notifications/{n.id}/"


def _render(names: Sequence[str], context: dict[str, Any]) -> str:
    return render_to_string(list(names), context)


def _subject(names: Sequence[str], context: dict[str, Any]) -> str:
    return " ".join(_render(names, context).split())[:250]


def notification_message(n: Notification) -> EmailMultiAlternatives:
    """The email of one notification to its recipient (``n.recipient`` must be loaded)."""
    context = {**_site(), "notification": n, "user": n.recipient, "url": link_for(n)}
    subject = _subject([f"{DIR}/{n.kind}.subject.txt", f"{DIR}/notification.subject.txt"], context)
    text = _render([f"{DIR}/{n.kind}.txt", f"{DIR}/notification.txt"], context)
    html = _render([f"{DIR}/{n.kind}.html", f"{DIR}/notification.html"], context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[n.recipient.email],
        headers={"X-Notification-Id": str(n.id), "X-Notification-Kind": n.kind},
    )
    message.attach_alternative(html, "text/html")
    return message


def digest_message(*, user, notifications: Sequence[Notification]) -> EmailMultiAlternatives:
    """The daily digest to ``user`` listing ``notifications`` (oldest first)."""
    items = [{"notification": n, "url": link_for(n)} for n in notifications]
    context = {**_site(), "user": user, "items": items, "count": len(items)}
    subject = _subject([f"{DIR}/digest.subject.txt"], context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=_render([f"{DIR}/digest.txt"], context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"X-Notification-Digest": "daily"},
    )
    message.attach_alternative(_render([f"{DIR}/digest.html"], context), "text/html")
    return message


def address_message(*, to: str, template: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    """A message to the address ``to`` rendered from ``<template>.subject.txt``, ``.txt`` and
    ``.html`` (a path under ``templates/``) with ``context`` plus ``site_name`` and ``site_url``."""
    context = {**_site(), **context}
    message = EmailMultiAlternatives(
        subject=_subject([f"{template}.subject.txt"], context),
        body=_render([f"{template}.txt"], context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(_render([f"{template}.html"], context), "text/html")
    return message
