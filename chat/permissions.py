"""Permission predicates of the chat: who takes part in a conversation, on which side, and who
handles reports.

Style of the vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. The participants of a conversation are its buyer (side ``buyer``) and the staff of its
store (side ``vendor``); a buyer who also works for the store is the buyer.

Chat reads stay at one query: :func:`with_store_staff_flag` annotates a conversation query with
``viewer_is_store_staff`` for a user, and :func:`chat_side` reads that flag when it is there
(one query otherwise). :func:`chat_participant_q` is the queryset form of
:func:`is_chat_participant`.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from chat.models import Conversation, Message, Side
from commerce.stores.models import VendorStaff
from commerce.stores.permissions import is_store_staff
from core.permissions import is_active_user, is_marketplace_admin

#: the annotation :func:`with_store_staff_flag` adds and :func:`chat_side` reads
STORE_STAFF_FLAG = "viewer_is_store_staff"


def _store_staff_exists(user) -> Exists:
    return Exists(VendorStaff.objects.filter(vendor_id=OuterRef("vendor_id"), user_id=user.pk))


def with_store_staff_flag(qs: QuerySet[Conversation], user) -> QuerySet[Conversation]:
    """``qs`` annotated with ``viewer_is_store_staff`` (``user`` works for the conversation's
    store), so :func:`chat_side` needs no query. ``user`` must be active."""
    return qs.annotate(**{STORE_STAFF_FLAG: _store_staff_exists(user)})


def chat_side(user, conversation: Conversation) -> str | None:
    """``"buyer"`` or ``"vendor"`` for a participant of ``conversation``, None for anyone else
    (anonymous and inactive users included). No query on a conversation loaded through
    :func:`with_store_staff_flag`; one otherwise."""
    if not is_active_user(user):
        return None
    if conversation.buyer_id == user.pk:
        return Side.BUYER
    flag = getattr(conversation, STORE_STAFF_FLAG, None)
    if flag is None:
        flag = is_store_staff(user, conversation.vendor_id)
    return Side.VENDOR if flag else None


def is_chat_participant(user, conversation: Conversation) -> bool:
    """True when ``user`` takes part in ``conversation`` (its buyer or its store's staff)."""
    return chat_side(user, conversation) is not None


def is_message_sender(user, message: Message) -> bool:
    """True when the active ``user`` sent ``message``: only they edit or delete it."""
    return is_active_user(user) and message.sender_id == user.pk


def chat_participant_q(user) -> Q:
    """The queryset form of :func:`is_chat_participant` for ``Conversation`` rows."""
    if not is_active_user(user):
        return Q(pk__in=[])
    return Q(buyer_id=user.pk) | _store_staff_exists(user)


def can_handle_chat_reports(user) -> bool:
    """Who resolves, dismisses and reopens reports of chat messages: marketplace admins."""
    return is_marketplace_admin(user)
