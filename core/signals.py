"""Signals of the accounts app that other apps may react to.

``user_signed_in``
    Sent after a successful sign-in at ``POST /api/v1/auth/token/`` (after the token pair was
    issued), with ``sender=User`` and the keyword arguments ``user`` (the signed-in
    :class:`core.models.User`) and ``request`` (the DRF ``Request`` of the sign-in, or ``None``
    when the service is called outside HTTP). Receivers run outside any transaction of the
    accounts service; they are called robustly: an exception in a receiver is logged and does not
    fail the sign-in. Example: commerce merges the anonymous cart named in the ``X-Cart-Id`` header
    into the user's cart::

        @receiver(user_signed_in)
        def merge_cart(sender, *, user, request, **kwargs): ...


``user_sessions_ended``
    Sent when every session of a user must end now: the account was deactivated
    (``reason="account_disabled"``), the user logged out (``"logged_out"``) or changed their
    password through a reset link (``"password_changed"``). ``sender=User``, keyword arguments
    ``user_id`` and ``reason``. Sent inside the accounts service's transaction; the realtime
    gateway (``realtime.receivers``) closes the user's WebSockets with 4401 and ``reason`` after
    commit. Accounts know nothing of sockets: the gateway sits above them.


``addresses_changed``
    Sent when a user's saved addresses changed (one created, edited or deleted, a default moved),
    inside the address service's transaction, with ``sender=Address`` and ``user_id``. The cart
    refreshes the user's cart: its shipping offer is for the default shipping address.
"""

from django.dispatch import Signal

user_signed_in = Signal()
user_sessions_ended = Signal()
addresses_changed = Signal()
