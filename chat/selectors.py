"""Reads of the chat: who takes part in a conversation, the JSON shapes shared by REST, the
``chat:<id>`` topic snapshot and events, history by anchors, unread counts.

Every read goes through :func:`conversation_for`, which answers ``Forbidden`` (``forbidden``)
for a conversation the user does not take part in *and* for one that does not exist, so ids
cannot be probed.

Shapes (times ISO 8601 UTC, ids strings):

* message — ``{"id", "conversation_id", "seq", "sender": {"id", "side", "name"}, "text",
  "masked", "image", "client_msg_id", "created_at", "edited_at", "deleted"}``; ``text`` is the
  masked text (``null`` once deleted), ``masked`` tells whether contact details were hidden,
  ``image`` is ``{"id", "url", "content_type", "size"}`` or ``null``;
* conversation — ``{"id", "buyer": {"id", "name"}, "vendor": {"id", "name", "slug"},
  "context": {"type", "id", "title"}, "my_side", "last_seq", "last_message_at",
  "last_message": {"seq", "sender_id", "sender_side", "preview", "deleted", "created_at"} | null,
  "unread", "blocked", "blocked_by": [side…], "created_at"}``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from django.db.models import (
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models.functions import Coalesce

from chat.models import ChatBlock, ChatReadState, ChatUserLock, Conversation, Message, Side
from chat.permissions import chat_participant_q, chat_side, with_store_staff_flag
from chat.serializers import (
    ConversationOutputSerializer,
    HistoryOutputSerializer,
    MessageOutputSerializer,
    UnreadOutputSerializer,
)
from commerce.stores.models import VendorStaff
from core.exceptions import Forbidden
from core.permissions import is_active_user
from core.utils import parse_uuid
from threads import sequence

#: messages in a topic snapshot and the default page of the history
SNAPSHOT_MESSAGES = 50
DEFAULT_PAGE = 50


def forbidden(conversation_id: Any = None) -> Forbidden:
    return Forbidden("You do not take part in this conversation.", code="forbidden")


def conversation_for(*, user, conversation_id: Any, queryset: QuerySet[Conversation] | None = None) -> tuple[Conversation, str]:
    """``(conversation, side)`` when ``user`` takes part in it
    (``chat.permissions.chat_side``); one query.

    Raises ``Forbidden`` (``forbidden``) for anonymous users, malformed or unknown ids and
    conversations of others alike.
    """
    pk = parse_uuid(conversation_id)
    if pk is None or not is_active_user(user):
        raise forbidden()
    qs = queryset if queryset is not None else Conversation.objects.all()
    conversation = with_store_staff_flag(qs, user).filter(pk=pk).first()
    side = chat_side(user, conversation) if conversation is not None else None
    if side is None:
        raise forbidden()
    return conversation, side


def is_participant(*, user, conversation_id: Any) -> bool:
    """True when ``user`` is the buyer or staff of the vendor of conversation
    ``conversation_id`` (``chat.permissions.chat_participant_q``; one query)."""
    pk = parse_uuid(conversation_id)
    if pk is None or not is_active_user(user):
        return False
    return Conversation.objects.filter(pk=pk).filter(chat_participant_q(user)).exists()


def participant_ids(*, conversation: Conversation) -> list[uuid.UUID]:
    """The buyer and the vendor's current staff, buyer first: one query, or none when the
    conversation was read with :func:`with_staff_ids` (``chat.services`` locks it that way)."""
    staff = getattr(conversation, "staff_ids", None)
    if staff is None:
        staff = VendorStaff.objects.filter(vendor_id=conversation.vendor_id).order_by("user_id").values_list("user_id", flat=True)
    else:
        staff = sorted(staff, key=str)
    return [conversation.buyer_id, *[uid for uid in staff if uid != conversation.buyer_id]]


def with_staff_ids(queryset: QuerySet) -> QuerySet:
    """``queryset`` of conversations annotated with ``staff_ids``, the user ids of the vendor's
    current staff (an array subquery in the same statement), for :func:`participant_ids`."""
    return queryset.annotate(staff_ids=ArraySubquery(VendorStaff.objects.filter(vendor_id=OuterRef("vendor_id")).values("user_id")))


def blocked_sides(*, buyer_id: Any, vendor_id: Any) -> list[str]:
    """Sides that blocked the other between this buyer and vendor (sorted; empty: not blocked)."""
    return sorted(ChatBlock.objects.filter(buyer_id=buyer_id, vendor_id=vendor_id).values_list("side", flat=True))


# --- shapes -------------------------------------------------------------------------------------


def message_data(message: Message, *, sender=None) -> dict[str, Any]:
    """The message shape (see the module docstring), rendered by
    :class:`chat.serializers.MessageOutputSerializer`. ``sender`` may be given to avoid loading
    it; otherwise load messages with ``select_related("sender", "image")``."""
    return MessageOutputSerializer(message, context={"sender": sender}).data


@dataclass(frozen=True)
class ConversationView:
    """A conversation as a participant on ``side`` sees it (rendered by
    :class:`chat.serializers.ConversationOutputSerializer`)."""

    conversation: Conversation
    side: str
    unread: int
    blocked_by: list[str]

    @property
    def buyer(self) -> dict[str, Any]:
        c = self.conversation
        return {"id": c.buyer_id, "name": c.buyer.display_name or ""}

    @property
    def vendor(self) -> dict[str, Any]:
        c = self.conversation
        return {"id": c.vendor_id, "name": c.vendor.name, "slug": c.vendor.slug}

    @property
    def context(self) -> dict[str, Any]:
        c = self.conversation
        return {"type": c.context_type, "id": c.context_id, "title": c.context_title}

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)


def conversation_data(conversation: Conversation, *, side: str, unread: int | None = None,
                      blocked_by: list[str] | None = None) -> dict[str, Any]:
    """The conversation shape for a participant on ``side``, rendered by
    :class:`chat.serializers.ConversationOutputSerializer`. ``unread`` and ``blocked_by`` come
    from the annotations of :func:`conversation_list` when not given (load ``buyer``, ``vendor``
    and ``last_message`` with ``select_related``)."""
    if unread is None:
        unread = getattr(conversation, "unread", 0) or 0
    if blocked_by is None:
        blocked_by = [s for s, flag in ((Side.BUYER, getattr(conversation, "blocked_by_buyer", False)),
                                        (Side.VENDOR, getattr(conversation, "blocked_by_vendor", False))) if flag]
    view = ConversationView(conversation=conversation, side=side, unread=unread,
                            blocked_by=sorted(str(s) for s in blocked_by))
    return ConversationOutputSerializer(view).data


def _annotated(qs: QuerySet[Conversation], user) -> QuerySet[Conversation]:
    unread = ChatReadState.objects.filter(conversation_id=OuterRef("pk"), user_id=user.pk).values("unread")[:1]
    block = ChatBlock.objects.filter(buyer_id=OuterRef("buyer_id"), vendor_id=OuterRef("vendor_id"))
    return qs.select_related("buyer", "vendor", "last_message").annotate(
        unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
        blocked_by_buyer=Exists(block.filter(side=Side.BUYER)),
        blocked_by_vendor=Exists(block.filter(side=Side.VENDOR)),
    )


def conversation_list(*, user) -> QuerySet[Conversation]:
    """Conversations ``user`` takes part in (as buyer or as staff of the vendor), newest last
    message first (conversations without messages last, newest first), annotated for
    :func:`conversation_data` (``unread``, ``blocked_by_buyer``, ``blocked_by_vendor``) and with
    ``viewer_is_store_staff`` (``chat.permissions.with_store_staff_flag``). One query per page."""
    if not is_active_user(user):
        return Conversation.objects.none()
    qs = Conversation.objects.filter(chat_participant_q(user))
    return with_store_staff_flag(_annotated(qs, user), user).order_by(
        F("last_message_at").desc(nulls_last=True), "-created_at", "-id"
    )


def conversation_detail(*, user, conversation_id: Any) -> dict[str, Any]:
    """The conversation shape for a participant (raises ``Forbidden`` otherwise)."""
    conversation, side = conversation_for(
        user=user, conversation_id=conversation_id, queryset=_annotated(Conversation.objects.all(), user)
    )
    return conversation_data(conversation, side=side)


def message_history(*, conversation: Conversation, before: int | None = None, after: int | None = None,
                    limit: int = DEFAULT_PAGE) -> dict[str, Any]:
    """A page of messages in ascending ``seq`` order, anchored like Zulip:

    * ``before=N``: the ``limit`` newest messages with ``seq < N``;
    * ``after=N``: the ``limit`` oldest messages with ``seq > N``;
    * neither: the ``limit`` newest messages.

    Paging with ``before=<first seq of the page>`` (or ``after=<last seq>``) never skips or
    repeats a message: seqs are contiguous and messages are never removed. Returns
    ``{"results": [message…], "has_more_before", "has_more_after", "last_seq"}`` (rendered by
    :class:`chat.serializers.HistoryOutputSerializer`).
    """
    rows, more_before, more_after = sequence.history(
        queryset=Message.objects.filter(conversation_id=conversation.pk).select_related("sender", "image"),
        last_seq=conversation.last_seq, before=before, after=after, limit=limit,
    )
    last_seq = conversation.last_seq
    return HistoryOutputSerializer({"results": rows, "has_more_before": more_before, "has_more_after": more_after,
                                    "last_seq": last_seq}).data


def read_states_data(*, conversation: Conversation, participant_ids: Iterable[Any]) -> dict[str, Any]:
    """``{"read_states": [{"user_id", "side", "last_read_seq"}], "read_up_to": {"buyer": n,
    "vendor": m}}`` for the current participants; ``read_up_to`` is the furthest any participant
    of that side has read (what "seen" ticks show to the other side). One query."""
    ids = list(participant_ids)
    rows = ChatReadState.objects.filter(conversation_id=conversation.pk, user_id__in=ids).order_by("user_id")
    states = [
        {"user_id": str(row.user_id), "side": Side.BUYER.value if row.user_id == conversation.buyer_id else Side.VENDOR.value,
         "last_read_seq": row.last_read_seq}
        for row in rows
    ]
    up_to = sequence.furthest_read(((s["side"], s["last_read_seq"]) for s in states), Side.values)
    return {"read_states": states, "read_up_to": up_to}


def _participates() -> Q:
    """On ChatReadState: its user still takes part in its conversation."""
    return Q(conversation__buyer_id=F("user_id")) | Q(
        Exists(VendorStaff.objects.filter(vendor_id=OuterRef("conversation__vendor_id"), user_id=OuterRef("user_id")))
    )


def unread_totals(*, user_ids: Iterable[Any]) -> dict[uuid.UUID, int]:
    """``{user_id: total unread}`` over the conversations each user takes part in, recounted
    from the read states (one query, a SUM over all their conversations): the truth the
    counter :func:`unread_total` reads is kept equal to."""
    ids = list(user_ids)
    totals = {uid: 0 for uid in ids}
    rows = (
        ChatReadState.objects.filter(user_id__in=ids, unread__gt=0)
        .filter(_participates())
        .values("user_id")
        .annotate(total=Sum("unread"))
        .order_by()
    )
    for row in rows:
        totals[row["user_id"]] = row["total"] or 0
    return totals


def unread_total(*, user_id: Any) -> int:
    """The user's total unread from their counter row (``ChatUserLock.total_unread``, kept
    equal to :func:`unread_totals` by ``chat.services``); 0 for a user who never chatted. One
    primary-key read."""
    return ChatUserLock.objects.filter(user_id=user_id).values_list("total_unread", flat=True).first() or 0


def unread_summary(*, user) -> dict[str, Any]:
    """``{"total_unread", "conversations": [{"conversation_id", "unread"}]}`` (only those with
    unread messages) for ``user``. One query."""
    rows = (
        ChatReadState.objects.filter(user_id=user.pk, unread__gt=0)
        .filter(_participates())
        .order_by("conversation_id")
        .values_list("conversation_id", "unread")
    )
    items = [{"conversation_id": cid, "unread": n} for cid, n in rows]
    return UnreadOutputSerializer({"total_unread": sum(i["unread"] for i in items), "conversations": items}).data


def chat_snapshot(*, user, conversation_id: Any) -> dict[str, Any]:
    """The ``chat:<id>`` snapshot: ``{"conversation", "messages" (the last 50, ascending seq),
    "has_more" (older messages exist: page with REST ``?before=``), "read_states",
    "read_up_to"}``. Raises ``Forbidden`` for non-participants."""
    conversation, side = conversation_for(
        user=user, conversation_id=conversation_id, queryset=_annotated(Conversation.objects.all(), user)
    )
    page = message_history(conversation=conversation, limit=SNAPSHOT_MESSAGES)
    return {
        "conversation": conversation_data(conversation, side=side),
        "messages": page["results"],
        "has_more": page["has_more_before"],
        **read_states_data(conversation=conversation, participant_ids=participant_ids(conversation=conversation)),
    }
