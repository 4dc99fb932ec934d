"""A store's staff: invitations by e-mail, roles, removal. The one owner of
``INVITATION_TRANSITIONS``.

* **Inviting** (:func:`store_invitation_create`): an owner names an e-mail and a role
  (``owner``, ``manager``, ``staff``). A random token (``secrets.token_urlsafe``, 256 bits) goes
  out in a link ``{FRONTEND_URL}{STORE_INVITATION_PATH}#token=<token>`` (a fragment: browsers
  send it to no server, so it stays out of logs and ``Referer`` headers); only its SHA-256 is
  stored. The link expires after ``STORE_INVITATION_TTL_HOURS`` (72). The e-mail goes through the
  notifications e-mail path (``notifications.services.email_address``: rendered from
  ``templates/stores/email/invitation.*``, sent by Celery after commit, retried); an invitee who
  already has an account also finds it in the inbox (no token there). Inviting the same e-mail
  again replaces the pending invitation (the old link stops working).
* **Accepting** (:func:`store_invitation_accept`) needs the token *and* the signed-in account
  with the invited e-mail (an invitee without an account registers first with that e-mail):
  a forwarded link is useless to anyone else, and a stranger who registers the address without
  the token gets nothing.
* **Roles** (:func:`store_staff_set_role`) and **removal** (:func:`store_staff_remove`): only
  owners manage staff (``can_manage_store_staff``); any member may leave. Never the last owner,
  and never the account holder (``Vendor.owner``: who applied for the store and whose wallet
  receives its earnings). A removed member's sockets lose the ``vendor:`` topic at once
  (``subscription.revoked``, reason ``removed_from_store``) and every REST call for the store is
  refused from the next request on (the membership row is gone).

Lock order: the vendor, then its memberships and invitations. Events (after commit):
``store.staff_changed`` ``{"vendor_id", "member": {user_id, email, display_name, role,
account_holder, joined_at}, "change": "added" | "role_changed" | "removed"}`` on ``vendor:<id>``.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import Role, User
from core.permissions import is_account_owner, is_active_user
from notifications.kinds import IN_APP, register_kind
from notifications.services import email_address, notify
from realtime.outbox import publish, revoke_subscription

from commerce.common.validation import as_uuid, invalid
from commerce.stores.events import VENDOR_TOPIC, StoreStaffChanged
from commerce.stores.models import (
    INVITATION_MACHINE,
    InvitationStatus,
    StoreInvitation,
    Vendor,
    VendorStaff,
    VendorStaffRole,
    VendorStatus,
)
from commerce.stores.permissions import OWNER_ROLES, can_manage_store_staff
from commerce.stores.selectors import invitation_by_token, invitation_token_hash
from commerce.stores.services import grant_vendor_role, lock_vendor
from commerce.stores.validation import validate_store_email

INVITATION_TEMPLATE = "stores/email/invitation"
REVOKED_REASON = "removed_from_store"

STORE_INVITATION = register_kind(
    "store.invitation",
    description="A store invited you to join its staff (the link to accept is in the e-mail).",
    default_channels=(IN_APP,),
)
STORE_STAFF_CHANGED = register_kind(
    "store.staff_changed",
    description="Someone joined or left your store's staff, or your role in a store changed.",
    default_channels=(IN_APP,),
)


def _announce(vendor: Vendor, member: VendorStaff, change: str) -> None:
    publish(topic=VENDOR_TOPIC.name(vendor.pk), event=StoreStaffChanged.build(member=member, change=change))


def _owner_ids(vendor: Vendor, *, besides: Any = None) -> list[Any]:
    ids = VendorStaff.objects.filter(vendor=vendor, role__in=OWNER_ROLES).values_list("user_id", flat=True)
    return [uid for uid in ids if uid != besides]


def _check_manager(actor, vendor: Vendor) -> None:
    if not can_manage_store_staff(actor, vendor):
        raise Forbidden("Only the store's owners manage its staff.", code="forbidden")


def _check_role(role: Any) -> str:
    if role not in VendorStaffRole.values:
        raise invalid("role", f"Choose one of: {', '.join(VendorStaffRole.values)}.")
    return role


def invitation_link(token: str) -> str:
    """The front-end URL an invitation e-mail links to: ``{FRONTEND_URL}{STORE_INVITATION_PATH}
    #token=<token>``."""
    return f"{settings.FRONTEND_URL.rstrip('/')}{settings.STORE_INVITATION_PATH}#token={token}"


# --- invitations -------------------------------------------------------------------------------


def store_invitation_create(*, vendor_id: uuid.UUID, actor, email: str,
                            role: str = VendorStaffRole.STAFF) -> StoreInvitation:
    """Invite ``email`` to the staff of vendor ``vendor_id`` with ``role`` and e-mail the link
    (see the module docstring). Returns the pending invitation (its token is only in the e-mail).

    Raises ``Forbidden`` (``forbidden``) unless ``actor`` manages the store's staff (its owners,
    marketplace admins), ``NotFound`` (``vendor_not_found``), ``ApplicationError`` (``invalid``:
    e-mail or role), ``Conflict`` ``already_staff`` (that account is on the staff) or
    ``too_many_invitations`` (``STORE_MAX_PENDING_INVITATIONS`` pending).
    """
    email = validate_store_email(email, field="email")
    if not email:
        raise invalid("email", "This field may not be blank.")
    role = _check_role(role)
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_manager(actor, vendor)
        invitee = User.objects.filter(email__iexact=email).first()
        if invitee is not None and VendorStaff.objects.filter(vendor=vendor, user=invitee).exists():
            raise Conflict(f"{email} is already on the staff of {vendor.name}.", code="already_staff")
        pending = StoreInvitation.objects.select_for_update().filter(vendor=vendor, status=InvitationStatus.PENDING)
        replaced = [i for i in pending if i.email == email]
        if len(pending) - len(replaced) >= int(settings.STORE_MAX_PENDING_INVITATIONS):
            raise Conflict("This store has too many open invitations; revoke some first.", code="too_many_invitations")
        for old in replaced:
            INVITATION_MACHINE.check(old.status, InvitationStatus.REVOKED)
            old.status, old.responded_at = InvitationStatus.REVOKED, now
            old.save(update_fields=["status", "responded_at"])
        invitation = StoreInvitation.objects.create(
            vendor=vendor, email=email, role=role, token_hash=invitation_token_hash(token),
            invited_by=actor if is_active_user(actor) else None,
            expires_at=now + timedelta(hours=int(settings.STORE_INVITATION_TTL_HOURS)))
        inviter = (getattr(actor, "display_name", "") or getattr(actor, "email", "")) if actor else ""
        email_address(to=email, template=INVITATION_TEMPLATE, context={
            "store_name": vendor.name, "role": VendorStaffRole(role).label.lower(), "inviter": inviter,
            "accept_url": invitation_link(token), "valid_hours": int(settings.STORE_INVITATION_TTL_HOURS),
            "email": email,
        })
        if invitee is not None and invitee.is_active:
            notify(recipients=[invitee], kind=STORE_INVITATION.name,
                   title=f"{vendor.name} invites you to join its staff as {VendorStaffRole(role).label.lower()}",
                   body=f"Open the link in the e-mail we sent to {email} to accept.",
                   data={"vendor_id": str(vendor.pk), "invitation_id": str(invitation.pk), "role": role},
                   target=invitation, send_email=False)
    return invitation


def store_invitation_revoke(*, vendor_id: uuid.UUID, invitation_id: Any, actor) -> StoreInvitation:
    """Revoke a pending invitation of vendor ``vendor_id``: its link stops working.

    Raises ``Forbidden`` (``forbidden``), ``NotFound`` (``vendor_not_found``,
    ``invitation_not_found``), ``core.fsm.InvalidTransition`` (409: already accepted, declined or
    revoked)."""
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_manager(actor, vendor)
        pk = as_uuid(invitation_id, code="invitation_not_found", what="Invitation")
        invitation = StoreInvitation.objects.select_for_update().filter(pk=pk, vendor=vendor).first()
        if invitation is None:
            raise NotFound("Invitation not found.", code="invitation_not_found")
        INVITATION_MACHINE.check(invitation.status, InvitationStatus.REVOKED)
        invitation.status, invitation.responded_at = InvitationStatus.REVOKED, timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
    return invitation


def _lock_invitation(token: Any) -> tuple[Vendor, StoreInvitation]:
    """The vendor and the invitation of ``token``, both locked (vendor first)."""
    found = invitation_by_token(token=token)
    vendor = lock_vendor(found.vendor_id)
    invitation = StoreInvitation.objects.select_for_update().get(pk=found.pk)
    return vendor, invitation


def store_invitation_accept(*, token: Any, user) -> VendorStaff:
    """``user`` accepts the invitation of ``token``: they join the store's staff with the
    invited role (and get the ``vendor`` role while the store is active); its owners are told
    (notification ``store.staff_changed``) and ``store.staff_changed`` (``added``) goes to
    ``vendor:<id>``. Returns the membership.

    Raises ``Forbidden`` ``not_authenticated`` (no active user) or
    ``invitation_email_mismatch`` (signed in with another e-mail than the invited one),
    ``NotFound`` ``invitation_not_found`` (unknown token), ``ApplicationError`` 410
    ``invitation_expired``, ``core.fsm.InvalidTransition`` (409: accepted, declined or revoked
    already), ``Conflict`` ``already_staff``. Nothing changes on a refusal.
    """
    if not is_active_user(user):
        raise Forbidden("Sign in with the invited e-mail address to accept.", code="not_authenticated")
    now = timezone.now()
    with transaction.atomic():
        vendor, invitation = _lock_invitation(token)
        INVITATION_MACHINE.check(invitation.status, InvitationStatus.ACCEPTED,
                                 detail=f"This invitation was {invitation.status} already.")
        if invitation.expires_at <= now:
            raise ApplicationError("This invitation has expired; ask the store for a new one.",
                                   code="invitation_expired", status=410)
        if (user.email or "").lower() != invitation.email:
            raise Forbidden(f"This invitation is for {invitation.email}; sign in with that address.",
                            code="invitation_email_mismatch")
        if VendorStaff.objects.filter(vendor=vendor, user=user).exists():
            raise Conflict(f"You are already on the staff of {vendor.name}.", code="already_staff")
        member = VendorStaff.objects.create(vendor=vendor, user=user, role=invitation.role)
        if vendor.status == VendorStatus.ACTIVE:
            grant_vendor_role([user])
        invitation.status, invitation.accepted_by, invitation.responded_at = InvitationStatus.ACCEPTED, user, now
        invitation.save(update_fields=["status", "accepted_by", "responded_at"])
        _announce(vendor, member, "added")
        name = user.display_name or user.email
        notify(recipients=_owner_ids(vendor, besides=user.pk), kind=STORE_STAFF_CHANGED.name,
               title=f"{name} joined {vendor.name} as {member.get_role_display().lower()}",
               data={"vendor_id": str(vendor.pk), "user_id": str(user.pk), "role": member.role}, target=vendor)
    return member


def store_invitation_decline(*, token: Any) -> StoreInvitation:
    """Decline the invitation of ``token`` (whoever holds the link; no account needed). Raises
    ``NotFound`` ``invitation_not_found`` and ``core.fsm.InvalidTransition`` (409) when it is no
    longer pending."""
    with transaction.atomic():
        vendor, invitation = _lock_invitation(token)
        INVITATION_MACHINE.check(invitation.status, InvitationStatus.DECLINED,
                                 detail=f"This invitation was {invitation.status} already.")
        invitation.status, invitation.responded_at = InvitationStatus.DECLINED, timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
        if invitation.invited_by_id:
            notify(recipients=[invitation.invited_by_id], kind=STORE_STAFF_CHANGED.name,
                   title=f"{invitation.email} declined to join {vendor.name}",
                   data={"vendor_id": str(vendor.pk), "invitation_id": str(invitation.pk)}, target=vendor)
    return invitation


# --- members -----------------------------------------------------------------------------------


def _lock_member(vendor: Vendor, user_id: Any) -> VendorStaff:
    pk = as_uuid(user_id, code="staff_not_found", what="Staff member")
    member = VendorStaff.objects.select_for_update().select_related("user", "vendor").filter(
        vendor=vendor, user_id=pk).first()
    if member is None:
        raise NotFound("No such member of this store's staff.", code="staff_not_found")
    return member


def _check_keeps_an_owner(vendor: Vendor, member: VendorStaff, *, leaving_owner_role: bool) -> None:
    if member.user_id == vendor.owner_id and leaving_owner_role:
        raise Conflict("The account holder (who applied for the store and receives its earnings) stays an owner.",
                       code="account_holder")
    if leaving_owner_role and member.role == VendorStaffRole.OWNER and len(_owner_ids(vendor)) <= 1:
        raise Conflict("A store keeps at least one owner.", code="last_owner")


def store_staff_set_role(*, vendor_id: uuid.UUID, user_id: Any, role: str, actor) -> VendorStaff:
    """Give member ``user_id`` of vendor ``vendor_id`` the ``role`` (idempotent). The member is
    told (notification) and ``store.staff_changed`` (``role_changed``) goes to ``vendor:<id>``.

    Raises ``Forbidden`` (``forbidden``: only owners and marketplace admins), ``NotFound``
    (``vendor_not_found``, ``staff_not_found``), ``ApplicationError`` (``invalid`` role),
    ``Conflict`` ``account_holder`` / ``last_owner`` (demoting the account holder or the last
    owner)."""
    role = _check_role(role)
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_manager(actor, vendor)
        member = _lock_member(vendor, user_id)
        if member.role == role:
            return member
        _check_keeps_an_owner(vendor, member, leaving_owner_role=role != VendorStaffRole.OWNER)
        member.role = role
        member.save(update_fields=["role"])
        _announce(vendor, member, "role_changed")
        if member.user_id != getattr(actor, "pk", None):
            notify(recipients=[member.user_id], kind=STORE_STAFF_CHANGED.name,
                   title=f"You are now {member.get_role_display().lower()} of {vendor.name}",
                   data={"vendor_id": str(vendor.pk), "role": role}, target=vendor)
    return member


def store_staff_remove(*, vendor_id: uuid.UUID, user_id: Any, actor) -> None:
    """Remove member ``user_id`` from the staff of vendor ``vendor_id``: by an owner or a
    marketplace admin, or by the member themselves (leaving). Their sockets lose ``vendor:<id>``
    after commit (``subscription.revoked``, reason ``removed_from_store``); a user left in no
    store loses the ``vendor`` role. ``store.staff_changed`` (``removed``) goes to the store's
    topic; a removed member is told (notification).

    Raises ``Forbidden`` (``forbidden``), ``NotFound`` (``vendor_not_found``,
    ``staff_not_found``), ``Conflict`` ``account_holder`` / ``last_owner``."""
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        leaving = is_account_owner(actor, user_id)
        if not leaving:
            _check_manager(actor, vendor)
        member = _lock_member(vendor, user_id)
        _check_keeps_an_owner(vendor, member, leaving_owner_role=True)
        member.delete()
        user = member.user
        if Role.VENDOR in (user.roles or []) and not VendorStaff.objects.filter(user=user).exists():
            user.roles = [r for r in user.roles if r != Role.VENDOR]
            user.save(update_fields=["roles"])
        revoke_subscription(user_id=user.pk, topic=VENDOR_TOPIC.name(vendor.pk), reason=REVOKED_REASON)
        _announce(vendor, member, "removed")
        if not leaving:
            notify(recipients=[user.pk], kind=STORE_STAFF_CHANGED.name,
                   title=f"You were removed from the staff of {vendor.name}",
                   data={"vendor_id": str(vendor.pk)}, target=vendor)
