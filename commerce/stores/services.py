"""Stores: a vendor's life cycle (apply, activate, suspend), its profile and logo, and its
pickup point. The staff and invitations are ``commerce.stores.staff``.

Every function is keyword-only and transactional; refusals raise ``core.exceptions``
errors with stable codes. Lock order: **vendor -> its pickup point -> products (pk order) ->
carts (pk order)**; a status change locks the vendor and sends ``vendor_status_changed`` under
that lock.

Events (after commit, ``realtime.outbox``): ``store.updated`` ``{"vendor": <the store as its staff
see it>}`` on ``vendor:<id>`` after a profile, logo or pickup point change.

Pickup points: set by hand (:func:`pickup_point_set`), or derived from the store's address by the
geocoder of ``STORE_GEOCODER`` (off by default; ``commerce.stores.geocoding``):
:func:`pickup_point_from_address` switches a store to it, and a profile change that moves the
address of such a store geocodes it again, in a Celery task after commit
(:func:`pickup_point_geocode`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.images import sanitize_image
from core.models import Role
from core.permissions import is_active_user
from core.services import validate_coordinates
from notifications.kinds import IN_APP, register_kind
from notifications.services import notify
from realtime.outbox import publish

from commerce.common.validation import as_uuid, invalid, unique_slug
from commerce.stores.events import VENDOR_TOPIC, StoreUpdated
from commerce.stores.geocoding import address_is_geocodable, configured_geocoder
from commerce.stores.models import (
    VENDOR_MACHINE,
    PickupPoint,
    PickupSource,
    Vendor,
    VendorStaff,
    VendorStaffRole,
    VendorStatus,
)
from commerce.stores.permissions import OWNER_ROLES, can_edit_store_profile, can_manage_store_staff, can_set_store_status
from commerce.stores.signals import vendor_status_changed
from commerce.stores.validation import (
    validate_store_country,
    validate_store_email,
    validate_store_phone,
    validate_tax_id,
    validate_website,
)

logger = logging.getLogger(__name__)


PICKUP_NOT_FOUND = register_kind(
    "store.pickup_not_found",
    description="The map service could not find your store's address: set the pickup point by hand.",
    default_channels=(IN_APP,),
)

#: the profile fields :func:`vendor_update_profile` accepts (``address`` is a nested mapping)
PROFILE_FIELDS = frozenset({"name", "description", "contact_email", "contact_phone", "address", "website", "tax_id",
                            "email_public", "phone_public", "address_public"})
#: the keys of the nested ``address`` and the model field each one sets
ADDRESS_FIELDS = {"line1": "address_line1", "line2": "address_line2", "postal_code": "postal_code", "city": "city",
                  "region": "region", "country": "country"}
#: longest text of each address key
ADDRESS_MAX = {"line1": 200, "line2": 200, "postal_code": 20, "city": 100, "region": 100}
#: image formats a logo is stored in and their file extension
LOGO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def vendor_apply(*, user, name: str, description: str = "") -> Vendor:
    """``user`` applies to open a store called ``name``: a ``pending`` Vendor owned by ``user``
    (also its first staff member, role ``owner``). The slug is derived from the name.

    Raises ``Forbidden`` for an anonymous user, ``ApplicationError`` (``invalid``) for an empty
    name and ``Conflict`` (``application_pending``) when the user already has a pending store.
    """
    if not is_active_user(user):
        raise Forbidden("Sign in to apply as a vendor.", code="not_authenticated")
    name = (name or "").strip()
    if not name:
        raise invalid("name", "This field may not be blank.")
    with transaction.atomic():
        if Vendor.objects.filter(owner=user, status=VendorStatus.PENDING).exists():
            raise Conflict("You already have a store waiting for approval.", code="application_pending")
        for _ in range(3):
            slug = unique_slug(Vendor, name, max_length=140)
            try:
                with transaction.atomic():
                    vendor = Vendor.objects.create(name=name, slug=slug, description=description or "", owner=user)
                break
            except IntegrityError:  # a concurrent application took the slug: try the next one
                continue
        else:
            raise Conflict("Could not allocate a unique slug; try another name.", code="slug_taken")
        VendorStaff.objects.create(vendor=vendor, user=user, role=VendorStaffRole.OWNER)
    return vendor


def _grant_vendor_role(users: Iterable) -> None:
    for u in users:
        if Role.VENDOR not in (u.roles or []):
            u.roles = [*(u.roles or []), Role.VENDOR]
            u.save(update_fields=["roles"])


def vendor_set_status(*, vendor_id: uuid.UUID, status: str, actor) -> Vendor:
    """Move vendor ``vendor_id`` to ``status`` following ``VENDOR_TRANSITIONS``
    (pending -> active, active -> suspended, suspended -> active). Admins only.

    Activation gives the ``vendor`` role to the owner and staff. Any change sends
    ``vendor_status_changed`` (the catalogue then refreshes every cart holding one of the vendor's
    products: version bump + ``cart.updated``, since their availability changed).

    Raises ``Forbidden`` (``forbidden``) unless ``actor`` is a marketplace admin
    (``commerce.stores.permissions.can_set_store_status``), ``NotFound`` (``vendor_not_found``),
    ``core.fsm.InvalidTransition`` (409 ``invalid_transition`` with ``from``, ``to``, ``allowed``).
    """
    if not can_set_store_status(actor):
        raise Forbidden("Only an administrator may change a vendor's status.", code="forbidden")
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound("Vendor not found.", code="vendor_not_found")
        allowed = VENDOR_MACHINE.allowed(vendor.status)
        VENDOR_MACHINE.check(vendor.status, status, detail=f"A {vendor.status} vendor cannot become {status}"
                             + (f" (allowed: {', '.join(allowed)})." if allowed else "."))
        from_status = vendor.status
        vendor.status = status
        vendor.status_changed_at = timezone.now()
        vendor.save(update_fields=["status", "status_changed_at", "updated_at"])
        if status == VendorStatus.ACTIVE:
            _grant_vendor_role(vendor.staff.all())
        vendor_status_changed.send(sender=Vendor, vendor=vendor, from_status=from_status, to_status=status,
                                   actor=actor)
    return vendor


def grant_vendor_role(users: Iterable) -> None:
    """Give the ``vendor`` role (``core.models.Role``) to each of ``users`` who lacks it: the
    label of people who work for an active store."""
    _grant_vendor_role(users)


def vendor_staff_add(*, vendor_id: uuid.UUID, user, actor, role: str = VendorStaffRole.STAFF) -> VendorStaff:
    """Add ``user`` to the staff of vendor ``vendor_id`` with ``role`` (idempotent: an existing
    membership is returned unchanged). Allowed to the vendor's owners and marketplace admins
    (``commerce.stores.permissions.can_manage_store_staff``); people normally join through an
    invitation (``commerce.stores.staff``). Staff of an active vendor get the ``vendor`` role.

    Raises ``NotFound`` (``vendor_not_found``), ``Forbidden`` (``forbidden``) and
    ``ApplicationError`` (``invalid``) for an unknown role.
    """
    if role not in VendorStaffRole.values:
        raise invalid("role", f"Choose one of: {', '.join(VendorStaffRole.values)}.")
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound("Vendor not found.", code="vendor_not_found")
        if not can_manage_store_staff(actor, vendor):
            raise Forbidden("Only the store owner or an administrator may add staff.", code="forbidden")
        membership, _ = VendorStaff.objects.get_or_create(vendor=vendor, user=user, defaults={"role": role})
        if vendor.status == VendorStatus.ACTIVE:
            _grant_vendor_role([user])
    return membership


# --- profile -----------------------------------------------------------------------------------


def lock_vendor(vendor_id: Any) -> Vendor:
    """Lock (``FOR UPDATE``) and return vendor ``vendor_id``. Call inside a transaction. Raises
    ``NotFound`` (``vendor_not_found``), also for a malformed id."""
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFound("Vendor not found.", code="vendor_not_found")
    return vendor


def _check_profile_editor(actor, vendor: Vendor) -> None:
    if not can_edit_store_profile(actor, vendor):
        raise Forbidden("Only the store's owners may change its profile.", code="forbidden")


def _text(changes: dict[str, Any], key: str, *, max_length: int, required: bool = False) -> str:
    value = changes[key]
    if not isinstance(value, str):
        raise invalid(key, "Must be a string.")
    value = value.strip()
    if required and not value:
        raise invalid(key, "This field may not be blank.")
    if len(value) > max_length or "\x00" in value:
        raise invalid(key, f"At most {max_length} characters.")
    return value


def _apply_address(vendor: Vendor, address: Any) -> None:
    if not isinstance(address, dict):
        raise invalid("address", "Must be an object with line1, line2, postal_code, city, region, country.")
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise invalid("address", f"Unknown keys: {', '.join(sorted(unknown))}.")
    for key, value in address.items():
        if key == "country":
            vendor.country = validate_store_country(value)
            continue
        if not isinstance(value, str) or len(value.strip()) > ADDRESS_MAX[key] or "\x00" in value:
            raise invalid("address", f"address.{key}: a string of at most {ADDRESS_MAX[key]} characters.")
        setattr(vendor, ADDRESS_FIELDS[key], value.strip())


def _apply_profile(vendor: Vendor, changes: dict[str, Any]) -> None:
    """Validate ``changes`` and set them on ``vendor`` (not saved). The phone number and the tax
    identifier are checked in the store's country as it is *after* the change, and re-checked
    when only the country changes."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise invalid(sorted(unknown)[0], "Unknown field.")
    if "name" in changes:
        vendor.name = _text(changes, "name", max_length=120, required=True)
    if "description" in changes:
        vendor.description = _text(changes, "description", max_length=5000)
    if "address" in changes:
        _apply_address(vendor, changes["address"])
    country = vendor.country.code or ""
    if "contact_email" in changes:
        vendor.contact_email = validate_store_email(changes["contact_email"])
    if "contact_phone" in changes or ("address" in changes and vendor.contact_phone):
        phone = changes.get("contact_phone", str(vendor.contact_phone or ""))
        vendor.contact_phone = validate_store_phone(phone if isinstance(phone, str) else "", country=country) or ""
    if "website" in changes:
        vendor.website = validate_website(changes["website"] if isinstance(changes["website"], str) else "\x00")
    if "tax_id" in changes or ("address" in changes and vendor.tax_id):
        tax_id = changes.get("tax_id", vendor.tax_id)
        vendor.tax_id = validate_tax_id(tax_id if isinstance(tax_id, str) else "\x00", country=country)
    for flag in ("email_public", "phone_public", "address_public"):
        if flag in changes:
            if not isinstance(changes[flag], bool):
                raise invalid(flag, "Must be true or false.")
            setattr(vendor, flag, changes[flag])


def _announce(vendor: Vendor) -> None:
    """``store.updated`` with the store as its staff see it, after commit."""
    publish(topic=VENDOR_TOPIC.name(vendor.pk), event=StoreUpdated.build(vendor=vendor))


def vendor_update_profile(*, vendor_id: uuid.UUID, actor, changes: dict[str, Any]) -> Vendor:
    """Change the profile of vendor ``vendor_id``: any of ``name`` (1-120 characters),
    ``description`` (<= 5000), ``contact_email``, ``contact_phone`` (validated, stored E.164),
    ``address`` (``{line1, line2, postal_code, city, region, country}``, keys merged into the
    current address; ``country`` ISO 3166-1 alpha-2), ``website`` (http/https URL), ``tax_id``
    (checked per country, ``commerce.stores.validation``) and the public flags
    ``email_public``, ``phone_public``, ``address_public``. ``""`` clears a text field. The slug
    never changes (links stay valid).

    When the address moved and the store's pickup point is derived from it (``source`` =
    ``address``) while ``STORE_GEOCODER`` is set, the point is geocoded again after commit.
    Publishes ``store.updated``.

    Raises ``Forbidden`` (``forbidden``) unless ``actor`` may edit the profile (its owners, a
    marketplace admin: ``can_edit_store_profile``), ``NotFound`` (``vendor_not_found``),
    ``ApplicationError`` (``invalid`` naming the field); nothing changes on a refusal.
    """
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_profile_editor(actor, vendor)
        address_before = vendor.address_dict()
        _apply_profile(vendor, dict(changes))
        vendor.save()
        if vendor.address_dict() != address_before:
            point = PickupPoint.objects.select_for_update().filter(vendor=vendor).first()
            if point is not None and point.source == PickupSource.ADDRESS:
                _geocode_after_commit(vendor)
        _announce(vendor)
    return vendor


def vendor_set_logo(*, vendor_id: uuid.UUID, actor, file) -> Vendor:
    """Replace the logo of vendor ``vendor_id`` with the uploaded image ``file`` (a file object):
    checked by content (JPEG, PNG, GIF or WebP, at most ``STORE_LOGO_MAX_BYTES``), decoded and
    re-encoded without metadata and scaled to at most ``STORE_LOGO_SIDE`` pixels
    (``core.images.sanitize_image``), then saved under a new name in the default storage
    (``default_storage``: the file system, or a configured django-storages backend). The previous
    file is deleted after commit. Publishes ``store.updated``.

    Raises ``Forbidden`` (``forbidden``), ``NotFound`` (``vendor_not_found``),
    ``ApplicationError`` 400 ``invalid_image`` (no file, not an image) or ``image_too_large``
    (too many bytes or pixels), naming the field ``logo``.
    """
    vendor = Vendor.objects.filter(pk=as_uuid(vendor_id, code="vendor_not_found", what="Vendor")).first()
    if vendor is None:
        raise NotFound("Vendor not found.", code="vendor_not_found")
    _check_profile_editor(actor, vendor)  # before decoding anything a stranger sends
    if file is None or not hasattr(file, "read"):
        raise ApplicationError("Attach an image file (multipart field 'logo').", code="invalid_image",
                               fields={"logo": ["No file."]})
    limit = int(settings.STORE_LOGO_MAX_BYTES)
    size = getattr(file, "size", 0) or 0
    data = b"" if size > limit else file.read(limit + 1)
    if size > limit or len(data) > limit:
        raise ApplicationError(f"A logo may be at most {limit // 1024} KiB.", code="image_too_large",
                               fields={"logo": ["Too large."]})
    image = sanitize_image(bytes(data), field="logo", output_side=int(settings.STORE_LOGO_SIDE))
    name = default_storage.save(f"stores/logos/{vendor.pk}/{uuid.uuid4().hex}.{LOGO_EXTENSIONS[image.content_type]}",
                                ContentFile(image.data))
    try:
        with transaction.atomic():
            vendor = lock_vendor(vendor.pk)
            _check_profile_editor(actor, vendor)
            old = vendor.logo.name
            vendor.logo.name = name
            vendor.save(update_fields=["logo", "updated_at"])
            if old:
                transaction.on_commit(lambda: _delete_file(old), robust=True)
            _announce(vendor)
    except BaseException:
        _delete_file(name)
        raise
    return vendor


def vendor_remove_logo(*, vendor_id: uuid.UUID, actor) -> Vendor:
    """Remove the logo of vendor ``vendor_id`` (its file is deleted after commit; no-op without
    one). Same refusals as :func:`vendor_set_logo`."""
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_profile_editor(actor, vendor)
        old = vendor.logo.name
        if old:
            vendor.logo.name = ""
            vendor.save(update_fields=["logo", "updated_at"])
            transaction.on_commit(lambda: _delete_file(old), robust=True)
            _announce(vendor)
    return vendor


def _delete_file(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:  # a file already gone, or storage down: an orphan file is harmless
        logger.warning("could not delete stored file %s", name)


# --- pickup point ------------------------------------------------------------------------------


def _description(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 300 or "\x00" in value:
        raise invalid("description", "A string of at most 300 characters.")
    return value.strip()


def pickup_point_set(*, vendor_id: uuid.UUID, actor, latitude: Any, longitude: Any,
                     description: str | None = None) -> PickupPoint:
    """Set the pickup point of vendor ``vendor_id`` by hand: ``latitude`` in [-90, 90] and
    ``longitude`` in [-180, 180] (decimal degrees, stored to 6 places), and optionally what the
    courier reads there (``description``, <= 300 characters; kept when None). The point's source
    becomes ``manual``: later address changes no longer move it. New delivery attempts start
    there; existing ones keep their coordinates. Publishes ``store.updated``.

    Raises ``Forbidden`` (``forbidden``: only the store's owners and marketplace admins),
    ``NotFound`` (``vendor_not_found``), ``ApplicationError`` (``invalid``).
    """
    lat, lon = validate_coordinates(latitude, longitude)
    if lat is None:
        raise invalid("latitude", "Give both latitude and longitude.")
    text = None if description is None else _description(description)
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_profile_editor(actor, vendor)
        point = PickupPoint.objects.select_for_update().filter(vendor=vendor).first() or PickupPoint(vendor=vendor)
        point.latitude, point.longitude, point.source, point.geocoded_at = lat, lon, PickupSource.MANUAL, None
        if text is not None:
            point.description = text
        point.save()
        _announce(vendor)
    return point


def pickup_point_from_address(*, vendor_id: uuid.UUID, actor, description: str | None = None) -> PickupPoint:
    """Derive the pickup point of vendor ``vendor_id`` from its address from now on (source
    ``address``): the configured geocoder (``STORE_GEOCODER``) runs in a Celery task after
    commit and sets the coordinates; until it answers, the point keeps the coordinates it had
    (none for a new point: deliveries then start at ``DELIVERY_DEFAULT_PICKUP``). Address
    changes geocode it again. Publishes ``store.updated`` (now and when the coordinates arrive).

    Raises ``Conflict`` (``geocoding_off``) when no geocoder is configured, ``ApplicationError``
    (``invalid``, field ``address``) when the address lacks a street line, city or country, and
    the refusals of :func:`pickup_point_set`.
    """
    text = None if description is None else _description(description)
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        _check_profile_editor(actor, vendor)
        if configured_geocoder() is None:
            raise Conflict("Pickup points from addresses are off on this marketplace (no geocoder is "
                           "configured); set the coordinates by hand.", code="geocoding_off")
        if not address_is_geocodable(vendor.address_dict()):
            raise invalid("address", "Set the store's street address, city and country first.")
        point = PickupPoint.objects.select_for_update().filter(vendor=vendor).first() or PickupPoint(vendor=vendor)
        point.source = PickupSource.ADDRESS
        if text is not None:
            point.description = text
        point.save()
        _geocode_after_commit(vendor)
        _announce(vendor)
    return point


def _geocode_after_commit(vendor: Vendor) -> None:
    from commerce.stores.tasks import geocode_pickup_point  # cycle-breaker: the task module imports this one

    vendor_id = str(vendor.pk)
    transaction.on_commit(lambda: geocode_pickup_point.delay(vendor_id), robust=True)


def pickup_point_geocode(*, vendor_id: uuid.UUID) -> PickupPoint | None:
    """Geocode the address of vendor ``vendor_id`` into its pickup point (the Celery task's body).

    The geocoder runs with no lock held and no transaction open (it calls a network service);
    then, under the vendor's lock, the answer is written only if the point still comes from the
    address and the address is still the one geocoded (a newer change has queued its own run).
    An address the geocoder cannot find leaves the point as it was and tells the store's owners
    (notification ``store.pickup_not_found``). Returns the updated point, or None when nothing was
    written (geocoding off, no such point, superseded, not found, or the geocoder failed: logged).
    """
    geocoder = configured_geocoder()
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if geocoder is None or vendor is None:
        return None
    address = vendor.address_dict()
    if not address_is_geocodable(address):
        return None
    try:
        found = geocoder(address)
        lat, lon = validate_coordinates(*found) if found is not None else (None, None)
    except Exception:  # noqa: BLE001 - a third-party service: any failure leaves the point as it was
        logger.exception("geocoding the address of store %s failed", vendor_id)
        return None
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        point = PickupPoint.objects.select_for_update().filter(vendor=vendor).first()
        if point is None or point.source != PickupSource.ADDRESS or vendor.address_dict() != address:
            return None
        if lat is None:
            owners = VendorStaff.objects.filter(vendor=vendor, role__in=OWNER_ROLES).values_list("user_id", flat=True)
            notify(recipients=list(owners), kind=PICKUP_NOT_FOUND.name,
                   title=f"{vendor.name}: address not found on the map",
                   body="Couriers cannot be sent to an address the map service does not know. Check the address "
                        "or set the pickup point's coordinates by hand.",
                   data={"vendor_id": str(vendor.pk)}, target=vendor)
            return None
        point.latitude, point.longitude, point.geocoded_at = lat, lon, timezone.now()
        point.save(update_fields=["latitude", "longitude", "geocoded_at", "updated_at"])
        _announce(vendor)
    return point
