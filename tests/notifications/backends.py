"""Email backends for tests: locmem that fails, or is slow."""

import threading
import time
from smtplib import SMTPServerDisconnected

from django.core.mail.backends.locmem import EmailBackend


class FlakyBackend(EmailBackend):
    """Raises ``SMTPServerDisconnected`` for the first ``FlakyBackend.failures`` sends."""

    failures = 0
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).failures > 0:
            type(self).failures -= 1
            raise SMTPServerDisconnected("connection unexpectedly closed")
        return super().send_messages(messages)


class SlowBackend(EmailBackend):
    """Takes ``SlowBackend.delay`` seconds per send (thread-safe outbox append)."""

    delay = 0.5
    lock = threading.Lock()

    def send_messages(self, messages):
        time.sleep(type(self).delay)
        with type(self).lock:
            return super().send_messages(messages)
