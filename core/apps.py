import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("core.startup")


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts and platform"

    def ready(self) -> None:
        from core import schema  # noqa: F401  # cycle-breaker: registers the OpenAPI JWT scheme; simplejwt needs the app registry

        warn_test_payments()


def warn_test_payments() -> bool:
    """Log a start-up warning when the ``test`` payment gateway runs with ``DEBUG`` off (only
    possible with ``ALLOW_TEST_PAYMENTS=1``, see ``core.production``). Returns whether it warned."""
    if settings.DEBUG or getattr(settings, "PAYMENT_GATEWAY", "") != "test":
        return False
    logger.warning(
        "ALLOW_TEST_PAYMENTS=1: the 'test' payment gateway is active with DEBUG off. Its card token "
        "tok_visa pays any order and deposit without real money; never run this with real customers."
    )
    return True
