"""The simulator's frame: a scenario registry and the helpers every scenario uses. Each scenario
has a ``setup`` (sync, run once through the ORM and services before any socket opens: users,
tokens, conversations, auctions...) that returns the actors, and an async ``run`` that plays them
over real sockets for ``duration`` seconds, recording into :class:`simulator.client.Stats`.

The scenarios live with the apps they exercise, in ``<app>.simulation`` modules that call
:func:`register` (loaded by :func:`load_app_scenarios`, so the simulator imports no domain app):

* ``carts`` (``commerce.simulation``) — buyers with two devices each; one device edits the cart
  (``add_item`` / ``clear`` commands every ~2 s), the other must see every ``cart.updated``
  (latency from the command to the other device's event).
* ``bidders`` (``auctions.simulation``) — bidders on live auctions bidding in the final seconds
  (``bid`` command on ``auction:<id>``), watchers measuring ``auction.bid_placed`` latency.
* ``couriers`` (``delivery.simulation``) — couriers streaming 1 Hz GPS (``location`` on
  ``delivery:<id>``) along a straight route, a buyer watching ``delivery.location``.
* ``chats`` (``chat.simulation``) — buyer–vendor pairs; each side sends a message every ~3 s with
  a ``client_msg_id``, the other side measures send → ``chat.message`` latency and sends read
  receipts.

Setup users are named ``sim-<scenario>-<n>@sim.invalid`` and reused between runs.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from rest_framework_simplejwt.tokens import AccessToken

from core.models import Role, User

SIM_DOMAIN = "sim.invalid"


@dataclass
class Actor:
    """A simulated person: user id, access token and anything the scenario needs."""

    user_id: str
    token: str
    extra: dict[str, Any] = field(default_factory=dict)


def access_token(user) -> str:
    """A fresh JWT access token for ``user`` (what the simulated app sends in ``auth``)."""
    return str(AccessToken.for_user(user))


def sim_users(kind: str, n: int, *, roles: list[str] | None = None) -> list:
    """``n`` simulation users of ``kind`` (created once with unusable passwords, then reused)."""
    emails = [f"sim-{kind}-{i}@{SIM_DOMAIN}" for i in range(n)]
    existing = {u.email: u for u in User.objects.filter(email__in=emails)}
    missing = [User(email=e, display_name=f"Sim {kind} {i}", roles=roles or [Role.BUYER])
               for i, e in enumerate(emails) if e not in existing]
    for u in missing:
        u.set_unusable_password()
    User.objects.bulk_create(missing, ignore_conflicts=True)
    by_email = {u.email: u for u in User.objects.filter(email__in=emails)}
    return [by_email[e] for e in emails]


#: ``{name: (setup, run)}`` of every registered scenario, in registration order
SCENARIOS: dict[str, tuple] = {}


def register(name: str, setup, run) -> None:
    """Add a scenario (each app's ``simulation`` module adds its own)."""
    SCENARIOS[name] = (setup, run)


def load_app_scenarios() -> None:
    """Import ``<app>.simulation`` of every installed app that has one; such a module calls
    :func:`register` for its scenarios (commerce: ``carts``, auctions: ``bidders``,
    delivery: ``couriers``, chat: ``chats``)."""
    for config in apps.get_app_configs():
        name = f"{config.name}.simulation"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
