"""The client's IP address, trusting ``X-Forwarded-For`` only from configured proxies.

``TRUSTED_PROXIES`` (settings, from the environment: comma-separated addresses or CIDR networks,
e.g. ``10.0.0.0/8,192.0.2.7``) lists the reverse proxies / load balancers allowed to tell us who
the client is. Daphne runs **without** ``--proxy-headers``, so ``REMOTE_ADDR`` is always the TCP
peer; :class:`TrustedProxyMiddleware` (first in ``MIDDLEWARE``) then decides:

* the peer is not a trusted proxy (or none are configured): the client is the peer, and the
  ``X-Forwarded-For`` / ``-Proto`` / ``-Host`` / ``-Port`` and ``Forwarded`` headers it sent are
  deleted, so nothing later (``SECURE_PROXY_SSL_HEADER``, DRF, logging) can read a forged value;
* the peer is a trusted proxy: walk ``X-Forwarded-For`` from the right (each proxy appends the
  address it received the request from) and take the first address that is not itself a trusted
  proxy: the right-most untrusted hop. Entries left of it were written by the client and are
  never believed. If every hop is trusted, the left-most one is the client.

The middleware stores the answer in ``REMOTE_ADDR`` (the TCP peer stays in ``PEER_ADDR``), so
Django, DRF throttles (``core.throttles``), django-axes (``AXES_CLIENT_IP_CALLABLE``) and logs
all see the same address. :func:`client_ip` is the one function everything calls.

This is the scheme of nginx's ``real_ip_recursive on`` with ``set_real_ip_from``; MDN's
"X-Forwarded-For: selecting an IP address" gives the reasoning (the right-most untrusted entry is
the only one a client cannot forge).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: request.META key of the address the middleware decided on (so a second call agrees)
CLIENT_IP_KEY = "marketplace.client_ip"
#: request.META key of the TCP peer's address before the middleware replaced REMOTE_ADDR
PEER_KEY = "PEER_ADDR"
#: headers a client could forge to pose as another address, host or scheme
FORWARDING_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


def parse_trusted_proxies(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "192.0.2.7", "::1"]`` -> networks (a bare address is a /32 or /128).

    Raises ``ImproperlyConfigured`` naming the entry that is not an address or network (host
    bits set, as in ``10.0.0.1/8``, are refused too: it is almost always a typo)."""
    networks = []
    for raw in values:
        entry = (raw or "").strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network ({exc})") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_trusted_proxies(values)


def trusted_networks() -> tuple[Network, ...]:
    """The parsed ``settings.TRUSTED_PROXIES`` (cached per distinct value)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = (address or "").strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_trusted_proxy(address: str, networks: tuple[Network, ...] | None = None) -> bool:
    """True when ``address`` lies in one of ``networks`` (default: ``TRUSTED_PROXIES``)."""
    networks = trusted_networks() if networks is None else networks
    ip = _parse(address)
    return ip is not None and any(ip.version == net.version and ip in net for net in networks)


def resolve_client_ip(peer: str, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The client address for a request from TCP ``peer`` carrying ``X-Forwarded-For``
    ``forwarded_for`` (see the module docstring). Pure; returns ``peer`` unchanged when it is not
    a trusted proxy, when the header is absent, or when its right-most untrusted hop is not an
    IP address (a broken proxy chain is not believed)."""
    if not networks or not forwarded_for or not is_trusted_proxy(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        ip = _parse(hop)
        if ip is None:
            return client  # garbage left of a trusted hop: stop at the last address we can vouch for
        client = str(ip)
        if not is_trusted_proxy(client, networks):
            return client
    return client


def client_ip(request: Any) -> str:
    """The client's IP address for ``request`` (Django ``HttpRequest`` or DRF ``Request``), as
    decided by :class:`TrustedProxyMiddleware`; computed the same way when the middleware did not
    run (a request built in a test, a view called directly). ``"unknown"`` without any address."""
    meta = getattr(request, "META", None) or {}
    cached = meta.get(CLIENT_IP_KEY)
    if cached:
        return cached
    peer = meta.get(PEER_KEY) or meta.get("REMOTE_ADDR") or ""
    return resolve_client_ip(peer, meta.get("HTTP_X_FORWARDED_FOR"), trusted_networks()) or "unknown"


class TrustedProxyMiddleware:
    """First middleware: sets ``REMOTE_ADDR`` to :func:`client_ip`, keeps the TCP peer in
    ``PEER_ADDR``, and deletes forwarding headers that did not come from a trusted proxy (so
    ``SECURE_PROXY_SSL_HEADER`` only ever sees a trusted proxy's ``X-Forwarded-Proto``)."""

    def __init__(self, get_response) -> None:  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        meta = request.META
        if CLIENT_IP_KEY not in meta:
            peer = meta.get("REMOTE_ADDR") or ""
            networks = trusted_networks()
            if not is_trusted_proxy(peer, networks):
                for header in FORWARDING_HEADERS:
                    meta.pop(header, None)
            address = resolve_client_ip(peer, meta.get("HTTP_X_FORWARDED_FOR"), networks) or "unknown"
            meta[PEER_KEY] = peer
            meta[CLIENT_IP_KEY] = address
            meta["REMOTE_ADDR"] = address
        return self.get_response(request)
