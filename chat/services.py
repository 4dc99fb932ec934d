"""Writes of the chat. Every function is keyword-only and transactional; REST views and the
``chat:<id>`` topic commands call the same functions, so both give the same codes.

Who may do what: only participants (the buyer and the vendor's staff) touch a conversation;
everything else is ``403 forbidden`` — unknown ids too, so ids cannot be probed.

Locks (no deadlocks: always in this order): **conversation row** (``FOR NO KEY UPDATE``: it
serialises all writes of one conversation and assigns ``seq``) → **ChatUserLock rows** of the
users whose unread counts change (user-id order) → read states and messages.

Realtime, published through the outbox in the same transaction (sent after commit, in commit
order; the types are ``chat.events``):

* ``chat:<conversation_id>``: ``chat.message`` (message shape of ``chat.selectors``),
  ``chat.message_updated`` (same shape, after an edit or a delete), ``chat.read``
  ``{"conversation_id", "user_id", "side", "last_read_seq"}``, ``chat.block_changed``
  ``{"conversation_id", "blocked", "blocked_by"}``; and ``chat.typing`` (ephemeral: relayed to
  the other participants' sockets only, never stored or replayed)
  ``{"conversation_id", "user_id", "side", "name", "state", "expires_in_ms"}``;
* ``user:<user_id>``: ``chat.unread`` ``{"conversation_id", "unread", "total_unread"}`` to each
  participant whose counts changed.

A sent message also counts as read by its sender (their ``last_read_seq`` becomes its seq).
Recipients without a socket on the conversation get a ``chat.message`` notification (after
commit; at most one per recipient and conversation per ``CHAT_NOTIFY_COALESCE_SECONDS``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Iterable

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from chat import moderation, selectors
from chat.events import (
    CHAT_TOPIC,
    ChatBlockChanged,
    ChatMessage,
    ChatMessageUpdated,
    ChatRead,
    ChatTyping,
    ChatUnread,
)
from chat.models import (
    MAX_REPORT_COMMENT,
    MAX_TEXT_LENGTH,
    ChatAttachment,
    ChatBlock,
    ChatReadState,
    ChatReport,
    ChatUserLock,
    ContextType,
    Conversation,
    Message,
    ReportReason,
    ReportStatus,
    Side,
)
from chat.permissions import can_handle_chat_reports, chat_side, is_message_sender, with_store_staff_flag
from commerce.catalog.models import Product
from commerce.stores.models import Vendor, VendorStaff, VendorStatus
from commerce.stores.permissions import is_store_staff
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.permissions import is_active_user
from core.images import DEFAULT_MAX_PIXELS, sanitize_image
from core.utils import parse_uuid
from notifications.services import notify
from realtime import ephemeral, outbox, presence
from realtime.events import Event
from realtime.user_topic import USER_TOPIC
from threads import sequence
from threads.images import MAX_IMAGE_BYTES, read_image_bytes
from threads.inputs import clean_client_msg_id, clean_seq, invalid
from threads.inputs import clean_text as clean_thread_text
from threads.typing import typing_expiry

logger = logging.getLogger(__name__)

EDIT_WINDOW = timedelta(minutes=10)
UPLOAD_LIMITS: tuple[tuple[int, int], ...] = ((60, 10), (3600, 100))

#: where the model of a context type may live once its app exists (first importable one wins)
#: the model of each context type besides products, looked up by label (chat imports neither app)
CONTEXT_MODELS: dict[str, tuple[str, str]] = {
    ContextType.ORDER: ("commerce", "Order"),
    ContextType.AUCTION: ("auctions", "Auction"),
}


def notify_coalesce_seconds() -> int:
    return int(getattr(settings, "CHAT_NOTIFY_COALESCE_SECONDS", 60))


def clean_text(text: Any) -> str:
    """A message's text: ``threads.inputs.clean_text`` with at most 4,000 characters."""
    return clean_thread_text(text, max_length=MAX_TEXT_LENGTH)


# --- outbox / locks helpers ----------------------------------------------------------------------


def _lock_conversation(*, user, conversation_id: Any) -> tuple[Conversation, str]:
    """Lock the conversation row (``FOR NO KEY UPDATE``) and check that ``user`` takes part in
    it; one query, which also reads whether it is blocked and the vendor's staff
    (``selectors.with_staff_ids``: ``participant_ids`` then needs no query). Raises
    ``Forbidden`` (``forbidden``)."""
    pk = parse_uuid(conversation_id)
    if pk is None or not is_active_user(user):
        raise selectors.forbidden()
    conversation = (
        selectors.with_staff_ids(with_store_staff_flag(Conversation.objects.select_for_update(no_key=True, of=("self",)), user))
        .annotate(
            _blocked=Exists(ChatBlock.objects.filter(buyer_id=OuterRef("buyer_id"), vendor_id=OuterRef("vendor_id"))),
        )
        .filter(pk=pk)
        .first()
    )
    side = chat_side(user, conversation) if conversation is not None else None
    if side is None:
        raise selectors.forbidden()
    return conversation, side


def _blocked_error() -> Forbidden:
    return Forbidden("This conversation is blocked; messages cannot be sent.", code="blocked")


def _ensure_states(*, conversation: Conversation, user_ids: Iterable[Any], last_read_seq: int) -> None:
    """Create missing read states (read up to ``last_read_seq``, nothing unread) and user lock
    rows for ``user_ids``. Two queries."""
    ids = list(user_ids)
    ChatReadState.objects.bulk_create(
        [ChatReadState(conversation=conversation, user_id=uid, last_read_seq=last_read_seq, unread=0) for uid in ids],
        ignore_conflicts=True,
    )
    ChatUserLock.objects.bulk_create([ChatUserLock(user_id=uid) for uid in ids], ignore_conflicts=True)


def _lock_users(user_ids: Iterable[Any]) -> None:
    """Lock the ChatUserLock rows of ``user_ids`` in user-id order (creating missing ones with
    their recounted total: a row is normally made with the user's first read state)."""
    ids = sorted(set(user_ids), key=str)
    if not ids:
        return
    locked = list(ChatUserLock.objects.select_for_update().filter(user_id__in=ids).order_by("user_id").values_list("user_id", flat=True))
    if len(locked) < len(ids):
        have = set(locked)
        missing = [uid for uid in ids if uid not in have]
        totals = selectors.unread_totals(user_ids=missing)
        ChatUserLock.objects.bulk_create([ChatUserLock(user_id=uid, total_unread=totals[uid]) for uid in missing],
                                         ignore_conflicts=True)
        list(ChatUserLock.objects.select_for_update().filter(user_id__in=ids).order_by("user_id").values_list("user_id", flat=True))


_ADD_TO_TOTALS = """
UPDATE {locks} u SET total_unread = u.total_unread + d.delta
FROM (VALUES {values}) AS d(user_id, delta)
WHERE u.user_id = d.user_id
  AND (u.user_id = %s OR EXISTS (SELECT 1 FROM {staff} s WHERE s.vendor_id = %s AND s.user_id = u.user_id))
RETURNING u.user_id, u.total_unread
"""


def _add_to_totals(conversation: Conversation, deltas: dict[Any, int]) -> dict[Any, int]:
    """Add ``{user_id: delta}`` (the change of their unread count in ``conversation``) to the
    users' ``ChatUserLock.total_unread``, for those who take part in it (its buyer or its
    vendor's staff; a former clerk's read state changes without counting). Returns ``{user_id:
    new total}`` of those. One statement; call with the users' rows locked (:func:`_lock_users`):
    the membership test then runs after any concurrent staff change of theirs has committed,
    and that change's recount (``chat.receivers``) sees this transaction's read states."""
    if not deltas:
        return {}
    locks, staff = ChatUserLock._meta.db_table, VendorStaff._meta.db_table
    params: list[Any] = []
    for uid, delta in deltas.items():
        params += [uid, delta]
    params += [conversation.buyer_id, conversation.vendor_id]
    values = ", ".join(["(%s::uuid, %s::integer)"] * len(deltas))
    with connection.cursor() as cursor:
        cursor.execute(_ADD_TO_TOTALS.format(locks=locks, staff=staff, values=values), params)
        return dict(cursor.fetchall())


def _unread_events(conversation_id: Any, unread: dict[Any, int], totals: dict[Any, int]) -> list[tuple[str, Event]]:
    """``chat.unread`` events for ``{user_id: unread in this conversation}`` with their new
    ``totals`` (from :func:`_add_to_totals`; users missing there no longer take part)."""
    return [
        (USER_TOPIC.name(uid), ChatUnread.build(conversation_id=conversation_id, unread=n, total_unread=totals[uid]))
        for uid, n in unread.items() if uid in totals
    ]


def unread_recount(*, user_ids: Iterable[Any]) -> dict[Any, int]:
    """Set the users' unread totals (``ChatUserLock.total_unread``) to a recount of their read
    states over the conversations they take part in (``chat.selectors.unread_totals``), under
    their rows' locks (created when missing). Returns ``{user_id: total}``. Run when a user
    joins or leaves a store's staff (``chat.receivers``), in that change's transaction."""
    ids = sorted(set(user_ids), key=str)
    with transaction.atomic():
        _lock_users(ids)
        totals = selectors.unread_totals(user_ids=ids)
        for uid, total in totals.items():
            ChatUserLock.objects.filter(user_id=uid).update(total_unread=total)
    return totals


# --- conversations -------------------------------------------------------------------------------


def _context_model(context_type: str):
    """The model of ``context_type`` (an order or an auction), or None when its app is not installed."""
    try:
        return apps.get_model(*CONTEXT_MODELS[context_type])
    except LookupError:
        return None


def _context_title(*, user, vendor: Vendor, context_type: str, context_id: uuid.UUID) -> str:
    """Check the context exists and belongs to ``vendor`` (and, for an order, to ``user``);
    returns its title. Raises ``NotFound`` ``context_not_found``, or ``ApplicationError``
    ``context_type_unavailable`` (400) in a deployment without the app of that type."""
    not_found = NotFound(f"No such {context_type} of this vendor.", code="context_not_found")
    if context_type == ContextType.PRODUCT:
        name = Product.objects.alive().filter(pk=context_id, vendor_id=vendor.pk).values_list("name", flat=True).first()
        if name is None:
            raise not_found
        return name[:200]
    model = _context_model(context_type)
    if model is None:
        raise ApplicationError(
            f"Conversations about an {context_type} are not available here.", code="context_type_unavailable",
            fields={"context": [f"Unsupported context type {context_type!r}."]},
        )
    try:
        obj = model._default_manager.filter(pk=context_id).first()
    except (ValueError, TypeError, DjangoValidationError):
        obj = None
    if obj is None or (hasattr(obj, "vendor_id") and obj.vendor_id != vendor.pk):
        raise not_found
    if context_type == ContextType.ORDER:
        owner = getattr(obj, "buyer_id", getattr(obj, "user_id", None))
        if owner is not None and owner != user.pk:
            raise not_found
    return str(obj)[:200]


@dataclass(frozen=True)
class StartResult:
    conversation: Conversation
    created: bool


def conversation_start(*, user, vendor_id: Any, context_type: str, context_id: Any) -> StartResult:
    """Open (or return) the conversation of ``user`` (the buyer) with vendor ``vendor_id`` about
    ``(context_type, context_id)``; one per buyer, vendor and context.

    Raises ``NotFound`` ``vendor_not_found`` (unknown or not active vendor), ``context_not_found``
    (the product is unknown, deleted or another vendor's); ``ApplicationError`` ``invalid``,
    ``context_type_unavailable``, ``own_vendor`` (staff cannot chat with their own store);
    ``Forbidden`` ``blocked`` (a new conversation while the buyer and vendor have blocked each other).
    An existing conversation is returned (``created=False``) even when blocked.
    """
    if not is_active_user(user):
        raise Forbidden("Sign in to chat.", code="not_authenticated")
    if context_type not in ContextType.values:
        raise invalid("context", f"context.type must be one of {', '.join(ContextType.values)}.")
    vid, cid = parse_uuid(vendor_id), parse_uuid(context_id)
    if cid is None:
        raise invalid("context", "context.id must be a UUID.")
    vendor = Vendor.objects.filter(pk=vid, status=VendorStatus.ACTIVE).first() if vid else None
    if vendor is None:
        raise NotFound("Vendor not found.", code="vendor_not_found")
    existing = Conversation.objects.filter(buyer=user, vendor=vendor, context_type=context_type, context_id=cid).first()
    if existing is not None:
        return StartResult(existing, False)
    if is_store_staff(user, vendor):
        raise ApplicationError("You cannot open a conversation with your own store.", code="own_vendor")
    if ChatBlock.objects.filter(buyer=user, vendor=vendor).exists():
        raise Forbidden("You and this store have blocked each other's messages.", code="blocked")
    title = _context_title(user=user, vendor=vendor, context_type=context_type, context_id=cid)
    with transaction.atomic():
        conversation, created = Conversation.objects.get_or_create(
            buyer=user, vendor=vendor, context_type=context_type, context_id=cid,
            defaults={"context_title": title},
        )
        if created:
            _ensure_states(conversation=conversation, user_ids=selectors.participant_ids(conversation=conversation), last_read_seq=0)
    return StartResult(conversation, created)


# --- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool


_BUMP_UNREAD = """
UPDATE {states} rs SET
    unread = CASE WHEN rs.user_id = %s THEN 0 ELSE rs.unread + 1 END,
    last_read_seq = CASE WHEN rs.user_id = %s THEN %s ELSE rs.last_read_seq END,
    updated_at = %s
FROM {states} old
WHERE rs.conversation_id = %s AND old.id = rs.id
RETURNING rs.user_id, old.unread
"""


def _bump_unread_for_new_message(
    *, conversation: Conversation, message: Message, sender_id: Any
) -> tuple[list[tuple[str, str, dict[str, Any]]], list[Any]]:
    """Unread bookkeeping of a new message (under the conversation lock): +1 for every other
    participant, sender read up to the message, and the same changes to their totals. Returns
    the ``chat.unread`` events and the recipients' ids.

    Three statements: one UPDATE of every read state of the conversation (also of former staff,
    so theirs stay exact should they return) returning each one's count before it (the
    self-join ``old`` reads the row as it was); the lock of the users whose counts changed; the
    update of their totals. Two more the first time a participant has no read state yet (made
    here as read up to the message before)."""
    ids = selectors.participant_ids(conversation=conversation)
    table = ChatReadState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_UNREAD.format(states=table),
                       [sender_id, sender_id, message.seq, timezone.now(), conversation.pk])
        before = dict(cursor.fetchall())
    missing = [uid for uid in ids if uid not in before]
    if missing:
        ChatReadState.objects.bulk_create(
            [ChatReadState(conversation=conversation, user_id=uid, last_read_seq=message.seq if uid == sender_id else message.seq - 1,
                           unread=0 if uid == sender_id else 1) for uid in missing],
            ignore_conflicts=True,
        )
        ChatUserLock.objects.bulk_create([ChatUserLock(user_id=uid) for uid in missing], ignore_conflicts=True)
    others = [uid for uid in ids if uid != sender_id]
    # everyone whose count changed, a former clerk's too: one joining or leaving meanwhile is counted right
    _lock_users([*before, *missing])
    deltas = {uid: (-n if uid == sender_id else 1) for uid, n in before.items()}
    deltas.update({uid: 1 for uid in missing if uid != sender_id})
    totals = _add_to_totals(conversation, {uid: d for uid, d in deltas.items() if d})
    changed = {uid: before.get(uid, 0) + 1 for uid in others}
    if before.get(sender_id, 0):
        changed[sender_id] = 0
    return _unread_events(conversation.pk, changed, totals), others


def message_send(*, user, conversation_id: Any, text: Any, client_msg_id: Any = None, image_id: Any = None,
                 enforce_rate_limit: bool = True, notify_offline: bool = True) -> SendResult:
    """Send ``text`` (1..4,000 characters, contact details masked for participants) with an
    optional image (an attachment uploaded to this conversation by the sender, not yet used).

    The message gets the next ``seq`` under the conversation lock. With ``client_msg_id``, a
    retry returns the stored message (``created=False``) and publishes nothing. Publishes
    ``chat.message`` and ``chat.unread``; after commit, notifies recipients with no socket on
    the conversation (unless ``notify_offline=False``).

    Raises ``ApplicationError`` ``invalid`` (text, client_msg_id) / ``invalid_image``;
    ``Forbidden`` ``forbidden`` / ``blocked``; ``ApplicationError`` 429 ``rate_limited``
    (``CHAT_SEND_RATE_LIMITS`` per user, REST and socket together).
    """
    text = clean_text(text)
    client_msg_id = clean_client_msg_id(client_msg_id)
    image_pk = _image_pk(image_id)
    if parse_uuid(conversation_id) is None or not is_active_user(user):
        raise selectors.forbidden()
    if enforce_rate_limit:
        moderation.check_rate(user_id=user.pk)
    masked = moderation.mask(text)
    try:
        with transaction.atomic():
            conversation, side = _lock_conversation(user=user, conversation_id=conversation_id)
            # A retry (same client_msg_id) is found by the unique constraint at the INSERT below,
            # not by a lookup before it: one query less per send (the except below answers it).
            # Only where a check below would refuse the retry first is it looked up here.
            if client_msg_id and (conversation._blocked or image_pk is not None):
                existing = _sent_before(conversation_id=conversation.pk, user=user, client_msg_id=client_msg_id)
                if existing is not None:
                    return SendResult(existing, False)
            if conversation._blocked:
                raise _blocked_error()
            attachment = _unused_attachment(conversation=conversation, user=user, image_pk=image_pk)
            message = sequence.append(
                thread=conversation, model=Message, thread_field="conversation", link_last=True,
                sender=user, sender_side=side, text=masked.text, original_text=text, masked_kinds=masked.kinds,
                client_msg_id=client_msg_id, image=attachment,
            )
            events = [(CHAT_TOPIC.name(conversation.pk), ChatMessage.build(message=message, sender=user))]
            unread_events, recipients = _bump_unread_for_new_message(
                conversation=conversation, message=message, sender_id=user.pk
            )
            outbox.publish_many(events + unread_events)
            if notify_offline and recipients:
                transaction.on_commit(partial(_notify_offline, conversation.pk, message.pk, recipients), robust=True)
    except IntegrityError:
        # A retry of a stored message (its client_msg_id is unique per conversation and sender):
        # the transaction rolled back, nothing was published; answer with the stored message.
        existing = _sent_before(conversation_id=conversation_id, user=user, client_msg_id=client_msg_id)
        if existing is not None:
            return SendResult(existing, False)
        raise
    return SendResult(message, True)


def _image_pk(image_id: Any) -> uuid.UUID | None:
    """The attachment id of a send (None without one). Raises ``invalid_image`` for a malformed id."""
    if image_id in (None, ""):
        return None
    image_pk = parse_uuid(image_id)
    if image_pk is None:
        raise invalid("image_id", "Expected the id of an uploaded attachment.", code="invalid_image")
    return image_pk


def _sent_before(*, conversation_id: Any, user, client_msg_id: str | None) -> Message | None:
    """The message ``user`` already sent with ``client_msg_id`` in the conversation (a retry), if any."""
    return sequence.sent_before(queryset=Message.objects.select_related("sender", "image"), thread_field="conversation",
                                thread_id=conversation_id, sender_id=user.pk, client_msg_id=client_msg_id)


def _unused_attachment(*, conversation: Conversation, user, image_pk: uuid.UUID | None) -> ChatAttachment | None:
    """The attachment ``user`` uploaded to ``conversation`` and did not use yet (None without an
    id). Raises ``invalid_image`` when there is no such attachment."""
    if image_pk is None:
        return None
    attachment = ChatAttachment.objects.filter(
        pk=image_pk, conversation_id=conversation.pk, uploaded_by_id=user.pk, message__isnull=True
    ).first()
    if attachment is None:
        raise invalid("image_id", "No unused attachment of yours with this id in this conversation.", code="invalid_image")
    return attachment


def _own_message(*, conversation: Conversation, user, seq: int) -> Message:
    message = Message.objects.select_related("sender", "image").filter(conversation_id=conversation.pk, seq=seq).first()
    if message is None:
        raise NotFound("Message not found.", code="message_not_found")
    if not is_message_sender(user, message):
        raise Forbidden("Only the sender may change a message.", code="not_sender")
    return message


def message_edit(*, user, conversation_id: Any, seq: Any, text: Any) -> Message:
    """The sender edits message ``seq`` within 10 minutes of sending it; publishes
    ``chat.message_updated``. An edit that changes nothing publishes nothing.

    Raises ``invalid``; ``forbidden`` / ``not_sender`` / ``blocked`` (403); ``message_not_found``
    (404); ``Conflict`` ``message_deleted`` / ``edit_window_passed`` (409).
    """
    text = clean_text(text)
    seq = clean_seq(seq)
    with transaction.atomic():
        conversation, _side = _lock_conversation(user=user, conversation_id=conversation_id)
        message = _own_message(conversation=conversation, user=user, seq=seq)
        if message.deleted:
            raise Conflict("A deleted message cannot be edited.", code="message_deleted")
        if timezone.now() - message.created_at > EDIT_WINDOW:
            raise Conflict(
                f"Messages can be edited for {int(EDIT_WINDOW.total_seconds() // 60)} minutes after sending.",
                code="edit_window_passed",
            )
        if conversation._blocked:
            raise _blocked_error()
        if text == message.original_text:
            return message
        masked = moderation.mask(text)
        message.text, message.original_text, message.masked_kinds = masked.text, text, masked.kinds
        message.edited_at = timezone.now()
        message.save(update_fields=["text", "original_text", "masked_kinds", "edited_at"])
        outbox.publish(topic=CHAT_TOPIC.name(conversation.pk), event=ChatMessageUpdated.build(message=message))
    return message


def message_delete(*, user, conversation_id: Any, seq: Any) -> Message:
    """The sender deletes message ``seq``: it stays in the history as deleted (no text, no
    image) and leaves the unread counts of those who had not read it. Idempotent. Publishes
    ``chat.message_updated`` and ``chat.unread`` for those counts.

    Raises ``forbidden`` / ``not_sender`` (403), ``message_not_found`` (404), ``invalid``.
    """
    seq = clean_seq(seq)
    with transaction.atomic():
        conversation, _side = _lock_conversation(user=user, conversation_id=conversation_id)
        message = _own_message(conversation=conversation, user=user, seq=seq)
        if message.deleted:
            return message
        message.deleted, message.deleted_at = True, timezone.now()
        message.save(update_fields=["deleted", "deleted_at"])
        events = [(CHAT_TOPIC.name(conversation.pk), ChatMessageUpdated.build(message=message))]
        ids = selectors.participant_ids(conversation=conversation)
        affected = list(
            ChatReadState.objects.filter(
                conversation_id=conversation.pk, user_id__in=ids, last_read_seq__lt=seq, unread__gt=0
            ).exclude(user_id=user.pk).values_list("user_id", flat=True)
        )
        if affected:
            _lock_users(affected)
            ChatReadState.objects.filter(conversation_id=conversation.pk, user_id__in=affected).update(
                unread=F("unread") - 1, updated_at=timezone.now()
            )
            unread = dict(
                ChatReadState.objects.filter(conversation_id=conversation.pk, user_id__in=affected).values_list("user_id", "unread")
            )
            totals = _add_to_totals(conversation, {uid: -1 for uid in affected})
            events += _unread_events(conversation.pk, unread, totals)
        outbox.publish_many(events)
    return message


# --- read state, typing ------------------------------------------------------------------------


def conversation_mark_read(*, user, conversation_id: Any, up_to_seq: Any) -> dict[str, Any]:
    """``user`` has read the conversation up to ``up_to_seq`` (clamped to the last seq). Moving
    the pointer forward publishes ``chat.read`` to the conversation and ``chat.unread`` to the
    user's devices; an older or equal ``up_to_seq`` changes nothing (idempotent).

    Returns ``{"conversation_id", "last_read_seq", "unread", "total_unread"}``. Raises
    ``invalid`` (``up_to_seq`` not an integer >= 0) and ``forbidden``.
    """
    up_to_seq = clean_seq(up_to_seq, field="up_to_seq", minimum=0)
    with transaction.atomic():
        conversation, side = _lock_conversation(user=user, conversation_id=conversation_id)
        target = min(up_to_seq, conversation.last_seq)
        state = ChatReadState.objects.filter(conversation_id=conversation.pk, user_id=user.pk).first()
        recount = state is None  # a staff member who joined the vendor after the last message
        if recount:
            _ensure_states(conversation=conversation, user_ids=[user.pk], last_read_seq=0)
            state = ChatReadState.objects.get(conversation_id=conversation.pk, user_id=user.pk)
        if target <= state.last_read_seq and not recount:
            return {"conversation_id": str(conversation.pk), "last_read_seq": state.last_read_seq, "unread": state.unread,
                    "total_unread": selectors.unread_total(user_id=user.pk)}
        target = max(target, state.last_read_seq)
        _lock_users([user.pk])
        unread = (
            Message.objects.filter(conversation_id=conversation.pk, seq__gt=target, deleted=False)
            .exclude(sender_id=user.pk).count()
        )
        previous = state.unread
        ChatReadState.objects.filter(pk=state.pk).update(last_read_seq=target, unread=unread, updated_at=timezone.now())
        total = _add_to_totals(conversation, {user.pk: unread - previous}).get(user.pk)
        if total is None:  # no longer takes part (left the store's staff meanwhile)
            total = selectors.unread_total(user_id=user.pk)
        events = []
        if target != state.last_read_seq:
            events.append((CHAT_TOPIC.name(conversation.pk),
                           ChatRead.build(conversation_id=conversation.pk, user_id=user.pk, side=side, last_read_seq=target)))
        if unread != previous:
            events.append((USER_TOPIC.name(user.pk),
                           ChatUnread.build(conversation_id=conversation.pk, unread=unread, total_unread=total)))
        outbox.publish_many(events)
        transaction.on_commit(partial(_reset_notify_window, conversation.pk, user.pk), robust=True)
    return {"conversation_id": str(conversation.pk), "last_read_seq": target, "unread": unread, "total_unread": total}


def typing_signal(*, user, conversation_id: Any, state: Any) -> dict[str, Any]:
    """Relay ``chat.typing`` (``state`` ``start`` or ``stop``) to the other participants' sockets
    on the conversation; never stored or replayed. ``start`` expires after 5 s on clients unless
    repeated. Returns ``{"state", "expires_in_ms"}``. Raises ``invalid``, ``forbidden``, ``blocked``."""
    expires = typing_expiry(state)
    conversation, side = selectors.conversation_for(
        user=user, conversation_id=conversation_id,
        queryset=Conversation.objects.annotate(
            _blocked=Exists(ChatBlock.objects.filter(buyer_id=OuterRef("buyer_id"), vendor_id=OuterRef("vendor_id")))
        ),
    )
    if state == "start" and conversation._blocked:
        raise _blocked_error()
    ephemeral.send(
        topic=CHAT_TOPIC.name(conversation.pk), exclude_user_id=user.pk,
        event=ChatTyping.build(conversation_id=conversation.pk, user=user, side=side, state=state, expires_in_ms=expires),
    )
    return {"state": state, "expires_in_ms": expires}


# --- blocks and reports ------------------------------------------------------------------------


def _block_events(*, buyer_id: Any, vendor_id: Any) -> list[tuple[str, Event]]:
    sides = selectors.blocked_sides(buyer_id=buyer_id, vendor_id=vendor_id)
    ids = Conversation.objects.filter(buyer_id=buyer_id, vendor_id=vendor_id).values_list("pk", flat=True)
    return [(CHAT_TOPIC.name(cid), ChatBlockChanged.build(conversation_id=cid, blocked_by=sides)) for cid in ids]


def conversation_block(*, user, conversation_id: Any) -> dict[str, Any]:
    """``user``'s side blocks the other side (the buyer blocks the store, or the store's staff
    block the buyer) in every conversation between them. Idempotent. Publishes
    ``chat.block_changed`` to each of those conversations. Returns ``{"blocked", "blocked_by"}``."""
    with transaction.atomic():
        conversation, side = _lock_conversation(user=user, conversation_id=conversation_id)
        _, created = ChatBlock.objects.get_or_create(
            buyer_id=conversation.buyer_id, vendor_id=conversation.vendor_id, side=side,
            defaults={"created_by": user, "conversation": conversation},
        )
        if created:
            outbox.publish_many(_block_events(buyer_id=conversation.buyer_id, vendor_id=conversation.vendor_id))
        sides = selectors.blocked_sides(buyer_id=conversation.buyer_id, vendor_id=conversation.vendor_id)
    return {"blocked": bool(sides), "blocked_by": sides}


def conversation_unblock(*, user, conversation_id: Any) -> dict[str, Any]:
    """Lift the block of ``user``'s side (a block by the other side stays). Idempotent.
    Returns ``{"blocked", "blocked_by"}``."""
    with transaction.atomic():
        conversation, side = _lock_conversation(user=user, conversation_id=conversation_id)
        deleted, _ = ChatBlock.objects.filter(buyer_id=conversation.buyer_id, vendor_id=conversation.vendor_id, side=side).delete()
        if deleted:
            outbox.publish_many(_block_events(buyer_id=conversation.buyer_id, vendor_id=conversation.vendor_id))
        sides = selectors.blocked_sides(buyer_id=conversation.buyer_id, vendor_id=conversation.vendor_id)
    return {"blocked": bool(sides), "blocked_by": sides}


def message_report(*, user, conversation_id: Any, seq: Any, reason: Any, comment: Any = "") -> ChatReport:
    """Report message ``seq`` of the other side to staff (the admin's report queue). The text as
    it was when reported is kept with the report.

    Raises ``invalid`` (reason not one of ``ReportReason``, comment over 1,000 characters),
    ``own_message`` (400: a message of your own side), ``forbidden``, ``message_not_found``,
    ``Conflict`` ``already_reported``.
    """
    seq = clean_seq(seq)
    if reason not in ReportReason.values:
        raise invalid("reason", f"Expected one of {', '.join(ReportReason.values)}.")
    comment = "" if comment is None else comment
    if not isinstance(comment, str) or len(comment) > MAX_REPORT_COMMENT or "\x00" in comment:
        raise invalid("comment", f"Expected text of at most {MAX_REPORT_COMMENT} characters.")
    conversation, side = selectors.conversation_for(user=user, conversation_id=conversation_id)
    message = Message.objects.filter(conversation_id=conversation.pk, seq=seq).first()
    if message is None:
        raise NotFound("Message not found.", code="message_not_found")
    if message.sender_side == side:
        raise ApplicationError("You can only report messages of the other side.", code="own_message")
    try:
        with transaction.atomic():
            return ChatReport.objects.create(
                message=message, reporter=user, reason=reason, comment=comment.strip(),
                reported_text=message.original_text,
            )
    except IntegrityError:
        raise Conflict("You have already reported this message.", code="already_reported") from None


def report_set_status(*, report_ids: Iterable[Any], status: str, actor, note: str = "") -> int:
    """Staff close reports as ``resolved`` or ``dismissed`` (or reopen them). Returns how many
    changed. Raises ``Forbidden`` unless ``actor`` is a marketplace admin
    (``chat.permissions.can_handle_chat_reports``) and ``invalid`` for an unknown status."""
    if not can_handle_chat_reports(actor):
        raise Forbidden("Only staff handle reports.", code="forbidden")
    if status not in ReportStatus.values:
        raise invalid("status", f"Expected one of {', '.join(ReportStatus.values)}.")
    handled = status != ReportStatus.OPEN
    with transaction.atomic():
        return ChatReport.objects.filter(pk__in=list(report_ids)).exclude(status=status).update(
            status=status, handled_at=timezone.now() if handled else None, handled_by=actor if handled else None,
            staff_note=note,
        )


# --- attachments ---------------------------------------------------------------------------------

def attachment_upload(*, user, conversation_id: Any, file) -> ChatAttachment:
    """Store an image for a later ``send`` with ``image_id``: JPEG, PNG, GIF or WebP by content,
    at most ``CHAT_MAX_IMAGE_BYTES`` (default 5 MiB) and ``CHAT_MAX_IMAGE_PIXELS`` (40 million),
    **re-encoded** without EXIF/GPS or other metadata and turned upright first
    (``core.images.sanitize_image``); what is stored and served is the re-encoded image. Raises
    ``forbidden``, ``blocked``, ``invalid_image`` (400), ``image_too_large`` (400),
    ``rate_limited`` (429)."""
    conversation, _side = selectors.conversation_for(
        user=user, conversation_id=conversation_id,
        queryset=Conversation.objects.annotate(
            _blocked=Exists(ChatBlock.objects.filter(buyer_id=OuterRef("buyer_id"), vendor_id=OuterRef("vendor_id")))
        ),
    )
    if conversation._blocked:
        raise _blocked_error()
    data = read_image_bytes(file, max_bytes=int(getattr(settings, "CHAT_MAX_IMAGE_BYTES", MAX_IMAGE_BYTES)))
    moderation.check_rate(user_id=user.pk, scope="upload", limits=UPLOAD_LIMITS)
    image = sanitize_image(data, max_pixels=int(getattr(settings, "CHAT_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS)))
    attachment = ChatAttachment(conversation=conversation, uploaded_by=user, content_type=image.content_type,
                                size=len(image.data))
    attachment.file.save("upload", ContentFile(image.data), save=False)
    attachment.save()
    return attachment


# --- offline notifications -----------------------------------------------------------------------


def _notify_key(conversation_id: Any, user_id: Any) -> str:
    return f"chat:notified:{conversation_id}:{user_id}"


def _reset_notify_window(conversation_id: Any, user_id: Any) -> None:
    """After a read: the next message may notify again at once."""
    try:
        cache.delete(_notify_key(conversation_id, user_id))
    except Exception:  # noqa: BLE001 - best effort
        logger.warning("chat: could not reset the notification window", exc_info=True)


def _notify_offline(conversation_id: Any, message_id: Any, recipient_ids: list[Any]) -> None:
    """After commit: recipients with no socket on ``chat:<id>`` whose coalescing window is open
    get a ``chat.message`` notification (queued as a Celery task). Best effort: errors are logged."""
    try:
        present = presence.present_user_ids(CHAT_TOPIC.name(conversation_id))
        chosen = [
            str(uid) for uid in recipient_ids
            if str(uid) not in present and cache.add(_notify_key(conversation_id, uid), 1, timeout=notify_coalesce_seconds())
        ]
        if chosen:
            from chat.tasks import notify_new_message  # cycle-breaker: the task runs this module

            notify_new_message.delay(message_id=str(message_id), recipient_ids=chosen)
    except Exception:  # noqa: BLE001 - the message is stored and delivered live; only the notification is lost
        logger.exception("chat: could not queue the notification of message %s", message_id)


def notify_recipients(*, message_id: Any, recipient_ids: Iterable[Any]) -> int:
    """Create the ``chat.message`` notification of message ``message_id`` for those of
    ``recipient_ids`` who still take part in its conversation (preferences apply, see
    ``notifications.services.notify``). Returns how many were notified (0 for a deleted or
    unknown message)."""
    message = Message.objects.select_related("conversation__vendor", "conversation__buyer", "sender").filter(pk=message_id).first()
    if message is None or message.deleted:
        return 0
    conversation = message.conversation
    participants = {str(uid) for uid in selectors.participant_ids(conversation=conversation)}
    recipients = [uid for uid in (str(r) for r in recipient_ids) if uid in participants and uid != str(message.sender_id)]
    if not recipients:
        return 0
    who = conversation.vendor.name if message.sender_side == Side.VENDOR else (conversation.buyer.display_name or "A buyer")
    title = f"New message from {who}"[:200]
    body = message.text if len(message.text) <= 300 else message.text[:299] + "…"
    with transaction.atomic():
        # No ``target``: the data carries the conversation id (and content-type ids cached per
        # process would outlive a test database flush).
        notify(
            recipients=recipients, kind="chat.message", title=title, body=body,
            data={"conversation_id": str(conversation.pk), "seq": message.seq, "context_type": conversation.context_type,
                  "context_id": str(conversation.context_id)},
        )
    return len(recipients)
