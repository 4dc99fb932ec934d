"""The live web console at ``/console/``: one page of plain HTML, CSS and JavaScript modules
(``realtime/static/console/``, no build step) that signs in as a demo user and shows every live
feature through the reference client ``realtime.js``.

The page is static apart from a small JSON config (API base, WebSocket path, the demo accounts
that exist in this database, with ``DEBUG`` on only). Tokens live in the tab's ``sessionStorage`` and travel only in the
``auth`` frame and ``Authorization`` headers, never in URLs. Set ``CONSOLE_ENABLED = False`` to
turn the page off (404).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

#: Demo accounts created by ``manage.py seed_demo`` (shown when they exist), with what they show.
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    ("buyer1@demo.market", "buyer: cart, chat with Rapid Auto Parts, notifications, an order to return"),
    ("vendor1@demo.market", "vendor: Rapid Auto Parts' side of the chat"),
    ("buyer2@demo.market", "buyer: chat with Euro Motor Supply, a return in each state, reviews"),
    ("vendor2@demo.market", "vendor: Euro Motor Supply, its returns and reviews"),
    ("courier1@demo.market", "courier: deliveries"),
    ("admin@demo.market", "admin: the support queue"),
]


def console_config() -> dict:
    """The page's JSON config (rendered with ``json_script``). The demo accounts are offered only
    with ``DEBUG`` on: in production the page is a plain sign-in and says nothing about which
    accounts exist."""
    accounts = []
    if settings.DEBUG:
        emails = [email for email, _ in DEMO_ACCOUNTS]
        present = set(get_user_model().objects.filter(email__in=emails, is_active=True).values_list("email", flat=True))
        accounts = [{"email": email, "label": label} for email, label in DEMO_ACCOUNTS if email in present]
    return {
        "api_base": "/api/v1/",
        "ws_url": "/ws/",
        "demo_accounts": accounts,
        # Prefilled only in development; the demo password is public (README) but not a default to show in production.
        "demo_password": settings.DEMO_PASSWORD if settings.DEBUG and accounts else "",
    }


@require_safe
def console_index(request: HttpRequest) -> HttpResponse:
    """``GET /console/``: the console page."""
    if not getattr(settings, "CONSOLE_ENABLED", True):
        raise Http404("The console is disabled.")
    response = render(request, "console/index.html", {"config": console_config()})
    response["Cache-Control"] = "no-store"
    return response
