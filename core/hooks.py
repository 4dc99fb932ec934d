"""Hooks: a question a lower module asks and a module above it answers.

Dependencies point one way (``docs/architecture.md``): a module never imports a module above it.
When a lower module must learn something only a higher one knows (the cart shows the stock its
buyer's checkout holds; an order's REST body carries its escrow), it declares a :class:`Hook`
and calls it; the higher module *provides* the answering function once, at start-up (its
``AppConfig.ready``, the way signal receivers are connected).

A signal is the tool for "this happened" (any number of receivers, nothing returned); a hook is
the tool for "tell me" (exactly one provider, its return value is the answer). Calling a hook
nobody provides raises ``ImproperlyConfigured``: a missing wire is a start-up bug, never a silent
default.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured

F = TypeVar("F", bound=Callable[..., Any])


class Hook(Generic[F]):
    """A named call with one provider. ``hook.provide(fn)`` wires it (idempotent for the same
    ``fn``; a second, different provider raises ``ImproperlyConfigured``); ``hook(*args,
    **kwargs)`` calls the provider and returns its answer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._provider: F | None = None

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {'provided' if self._provider else 'not provided'}>"

    @property
    def provided(self) -> bool:
        return self._provider is not None

    def provide(self, fn: F) -> F:
        """Make ``fn`` the provider; returns ``fn`` (usable as a decorator)."""
        if self._provider is not None and self._provider is not fn:
            raise ImproperlyConfigured(f"hook {self.name} is already provided by {self._provider!r}")
        self._provider = fn
        return fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._provider is None:
            raise ImproperlyConfigured(f"nothing provides the hook {self.name} (is its app installed and ready?)")
        return self._provider(*args, **kwargs)
