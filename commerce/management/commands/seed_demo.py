"""``manage.py seed_demo``: idempotent, deterministic demo data for the whole marketplace.

The command seeds the accounts (admin, vendors, buyers with addresses, couriers; password
``settings.DEMO_PASSWORD``) and then runs, in one transaction, every seeder it finds:

1. ``<app>.demo.seed(ctx)`` of each installed app that has a ``demo`` module with a ``seed``
   function, in ``INSTALLED_APPS`` order (``commerce.demo`` seeds stores and the catalogue);
2. the dotted paths in :data:`EXTRA_SEEDERS`.

A seeder is called as ``seed(ctx)`` (one positional parameter), and/or with the keyword
arguments it declares among ``ctx`` and ``stdout`` (e.g. ``seed(*, stdout=None)``). ``ctx`` is a
:class:`DemoContext` (accounts by short name, vendors, a seeded ``rng``, a ``summary`` list to
append lines to). A seeder must be idempotent: look rows up by natural keys (email, slug,
SKU...) and create only what is missing, preferably with ``bulk_create``.

The demo accounts share one public password and include a superuser, so the command refuses to
run with ``DEBUG`` off (``CommandError``, exit code 1): it is for development stacks only.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.models import Address, Role, User

#: extra seeders ("module.function") run after the apps' ``demo.seed``
EXTRA_SEEDERS: list[str] = []

DOMAIN = "demo.market"

#: short name -> (email, display name, roles, is_superuser)
ACCOUNTS: dict[str, tuple[str, str, list[str], bool]] = {
    "admin": (f"admin@{DOMAIN}", "Demo Admin", [Role.ADMIN], True),
    "vendor1": (f"vendor1@{DOMAIN}", "Vera Vendor", [Role.BUYER], False),
    "vendor2": (f"vendor2@{DOMAIN}", "Victor Vendor", [Role.BUYER], False),
    "vendor3": (f"vendor3@{DOMAIN}", "Valerie Vendor", [Role.BUYER], False),
    "buyer1": (f"buyer1@{DOMAIN}", "Bruno Buyer", [Role.BUYER], False),
    "buyer2": (f"buyer2@{DOMAIN}", "Bea Buyer", [Role.BUYER], False),
    "buyer3": (f"buyer3@{DOMAIN}", "Bill Buyer", [Role.BUYER], False),
    "courier1": (f"courier1@{DOMAIN}", "Carla Courier", [Role.COURIER], False),
    "courier2": (f"courier2@{DOMAIN}", "Conrad Courier", [Role.COURIER], False),
}

#: buyer -> (line1, city, postal code, latitude, longitude)
BUYER_ADDRESSES: dict[str, tuple[str, str, str, str, str]] = {
    "buyer1": ("Unter den Linden 77", "Berlin", "10117", "52.516275", "13.377704"),
    "buyer2": ("Marienplatz 8", "München", "80331", "48.137154", "11.575382"),
    "buyer3": ("Jungfernstieg 7", "Hamburg", "20354", "53.553406", "9.992196"),
}


@dataclass
class DemoContext:
    """What seeders share. ``users``: short name (``admin``, ``vendor1``, ``buyer2``...) -> User;
    ``vendors``: short name (``vendor1``...) -> Vendor, filled by ``commerce.demo``; ``data``:
    free-form for later seeders; ``summary``: lines printed at the end; ``created``: counts."""

    password: str
    rng: random.Random
    users: dict[str, Any] = field(default_factory=dict)
    vendors: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int) -> None:
        self.created[what] = self.created.get(what, 0) + n


def seed_accounts(ctx: DemoContext) -> None:
    """Demo users (one password hash for all: hashing is the slow part) and buyers' addresses."""
    existing = {u.email: u for u in User.objects.filter(email__in=[a[0] for a in ACCOUNTS.values()])}
    password_hash: str | None = None
    for short, (email, display_name, roles, superuser) in ACCOUNTS.items():
        user = existing.get(email)
        if user is None:
            password_hash = password_hash or make_password(ctx.password)
            user = User(email=email, display_name=display_name, roles=roles, password=password_hash,
                        is_staff=superuser, is_superuser=superuser)
            user.save()
            ctx.count("users", 1)
        else:
            missing = set(roles) - set(user.roles or [])
            if missing:
                user.roles = [*(user.roles or []), *missing]
                user.save(update_fields=["roles"])
        ctx.users[short] = user
    for short, (line1, city, postal, lat, lon) in BUYER_ADDRESSES.items():
        user = ctx.users[short]
        _, created = Address.objects.get_or_create(
            user=user,
            label="Home",
            defaults={
                "full_name": user.display_name, "line1": line1, "city": city, "postal_code": postal, "country": "DE",
                "latitude": Decimal(lat), "longitude": Decimal(lon),
                "is_default_shipping": True, "is_default_billing": True,
            },
        )
        ctx.count("addresses", int(created))
    ctx.summary.append(
        f"Accounts (password {ctx.password!r}): " + ", ".join(a[0] for a in ACCOUNTS.values())
    )


def discover_seeders() -> list[tuple[str, Callable[[DemoContext], Any]]]:
    """``[(name, fn)]``: each installed app's ``demo.seed`` then :data:`EXTRA_SEEDERS`."""
    found: list[tuple[str, Callable[[DemoContext], Any]]] = []
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.demo"
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        fn = getattr(importlib.import_module(module_name), "seed", None)
        if callable(fn):
            found.append((module_name, fn))
    for path in EXTRA_SEEDERS:
        module_name, _, attr = path.rpartition(".")
        found.append((path, getattr(importlib.import_module(module_name), attr)))
    return found


def call_seeder(fn: Callable[..., Any], ctx: DemoContext, stdout: Any) -> Any:
    """Call ``fn`` with what it declares: ``ctx`` positionally or by name, ``stdout`` by name."""
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    args: list[Any] = []
    if "ctx" in params:
        kwargs["ctx"] = ctx
    else:
        positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if positional:
            args.append(ctx)
    if "stdout" in params:
        kwargs["stdout"] = stdout
    return fn(*args, **kwargs)


class Command(BaseCommand):
    help = "Create the demo accounts, stores, catalogue and every app's demo data (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=20261122, help="random seed (default: fixed)")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it creates a superuser and accounts whose "
                f"password ({DOMAIN} accounts, DEMO_PASSWORD) is public. Use it on development stacks only; "
                "create real staff accounts with `manage.py createsuperuser`."
            )
        started = time.monotonic()
        ctx = DemoContext(password=settings.DEMO_PASSWORD, rng=random.Random(options["seed"]))
        with transaction.atomic():
            seed_accounts(ctx)
            for _name, fn in discover_seeders():
                call_seeder(fn, ctx, self.stdout)
        created = ", ".join(f"{k} {v}" for k, v in sorted(ctx.created.items()) if v) or "nothing (already seeded)"
        self.stdout.write(f"seed_demo: created {created} in {time.monotonic() - started:.1f}s")
        for line in ctx.summary:
            self.stdout.write(f"  {line}")
