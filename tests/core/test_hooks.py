"""core.hooks.Hook: one provider answers; no provider, or a second one, is a loud error."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.hooks import Hook


def test_a_hook_returns_what_its_provider_answers():
    hook = Hook("test.double")
    hook.provide(lambda *, n: n * 2)
    assert hook(n=21) == 42
    assert hook.provided


def test_calling_a_hook_nobody_provides_raises_instead_of_guessing():
    hook = Hook("test.unwired")
    assert not hook.provided
    with pytest.raises(ImproperlyConfigured, match="test.unwired"):
        hook()


def test_providing_the_same_function_twice_is_harmless_but_a_second_provider_is_refused():
    hook = Hook("test.once")

    def answer() -> str:
        return "first"

    hook.provide(answer)
    hook.provide(answer)  # AppConfig.ready may run twice in some test runners
    with pytest.raises(ImproperlyConfigured, match="already provided"):
        hook.provide(lambda: "second")
    assert hook() == "first"
