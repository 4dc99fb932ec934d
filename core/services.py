"""Business logic of accounts: registration, sign-in with JWTs (rotation, blacklist, logout),
profile, password reset, activation (ban) and saved addresses.

Every function is keyword-only and refuses bad input with an :class:`~core.exceptions.ApplicationError`
(or a subclass below) carrying a stable ``code``; the REST layer turns it into
``{"code", "detail", "fields"?}`` with the error's HTTP status.

Token rules (``SIMPLE_JWT`` settings): a sign-in issues an access token and a refresh token and
starts a session (``sid`` claim, see ``core.tokens``); a refresh rotates the refresh token within
the session and blacklists the one presented (a second use of it is refused with
``token_blacklisted``); logout blacklists the refresh token, revokes the session (every access
token minted from it, REST and socket alike) and the access token of the request, and closes the
user's WebSockets with 4401. A password reset and a ban revoke every session of the user.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import jwt as pyjwt
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework import status as http
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from core import selectors
from core.exceptions import ApplicationError, Forbidden
from core.models import Address, Role, User
from core.permissions import is_marketplace_admin
from core.signals import addresses_changed, user_sessions_ended, user_signed_in
from core.tokens import SESSION_CLAIM, is_session_revoked, new_session_id, revoke_access_token, revoke_session

logger = logging.getLogger(__name__)


# --- errors -------------------------------------------------------------------------------------


class EmailTaken(ApplicationError):
    """400 ``email_taken``: an account with this email (compared case-insensitively) exists."""

    code = "email_taken"


class InvalidCredentials(ApplicationError):
    """401 ``invalid_credentials``: unknown email, wrong password or inactive account (the three
    are not told apart)."""

    status = http.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"


class TokenInvalid(ApplicationError):
    """401 ``token_not_valid`` (400 at logout): a JWT that is malformed, forged, expired, of the
    wrong type, or whose user is unknown or inactive."""

    status = http.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"


class TokenBlacklisted(ApplicationError):
    """401 ``token_blacklisted``: a refresh token that was already used (rotated) or logged out."""

    status = http.HTTP_401_UNAUTHORIZED
    code = "token_blacklisted"


class TokenNotOwned(Forbidden):
    """403 ``token_not_owned``: a refresh token of another user was sent to logout."""

    code = "token_not_owned"


class ResetTokenInvalid(ApplicationError):
    """400 ``invalid_token``: a password-reset link that is malformed, expired or already used."""

    code = "invalid_token"


class AddressLimitReached(ApplicationError):
    """400 ``address_limit_reached``: the user already has :data:`MAX_ADDRESSES_PER_USER`."""

    code = "address_limit_reached"


# --- shared validation --------------------------------------------------------------------------

#: ISO 3166-1 alpha-2 codes officially assigned (249).
ISO_COUNTRY_CODES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

#: How many addresses one user may save.
MAX_ADDRESSES_PER_USER = 50

_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
_COORD_QUANT = Decimal("0.000001")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", fields={field: [message]})


def _fields_error(exc: DjangoValidationError) -> ApplicationError:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    first = next(iter(fields.values()), ["Invalid input."])
    return ApplicationError(str(first[0]) if first else "Invalid input.", code="invalid", fields=fields)


def normalize_email(email: str) -> str:
    """``email`` stripped and lower-cased (the form in which :class:`User` stores emails)."""
    return (email or "").strip().lower()


def validate_phone(phone: str, *, field: str = "phone") -> str:
    """Return ``phone`` stripped; ``""`` is allowed. Raises ``ApplicationError(code="invalid")``
    with ``fields={field: [...]}`` unless it looks like a phone number (digits, spaces, ``+ ( ) . / -``,
    3 to 32 characters, at least 3 digits)."""
    phone = (phone or "").strip()
    if phone and (not _PHONE_RE.match(phone) or sum(c.isdigit() for c in phone) < 3):
        raise _invalid(field, "Enter a valid phone number.")
    return phone


def validate_country(country: str) -> str:
    """Return the ISO 3166-1 alpha-2 code in upper case. Raises ``ApplicationError(code="invalid",
    fields={"country": [...]})`` for anything else."""
    code = (country or "").strip().upper() if isinstance(country, str) else ""
    if code not in ISO_COUNTRY_CODES:
        raise _invalid("country", "Enter an ISO 3166-1 alpha-2 country code, e.g. DE.")
    return code


def validate_coordinates(latitude: Any, longitude: Any) -> tuple[Decimal | None, Decimal | None]:
    """Both ``None`` or both numbers with latitude in [-90, 90] and longitude in [-180, 180];
    returns them as ``Decimal`` rounded to 6 places. Raises ``ApplicationError(code="invalid")``
    with ``fields`` naming the offending coordinate."""
    if latitude is None and longitude is None:
        return None, None
    if latitude is None or longitude is None:
        missing = "latitude" if latitude is None else "longitude"
        raise _invalid(missing, "Give both latitude and longitude, or neither.")
    out = []
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError, TypeError):
            raise _invalid(name, "Enter a number.") from None
        if not number.is_finite() or not (-bound <= number <= bound):
            raise _invalid(name, f"Must be between -{bound} and {bound}.")
        out.append(number.quantize(_COORD_QUANT))
    return out[0], out[1]


def _check_password(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ApplicationError(exc.messages[0], code="invalid", fields={field: list(exc.messages)}) from None


# --- users --------------------------------------------------------------------------------------


@transaction.atomic
def user_register(*, email: str, password: str, display_name: str = "") -> User:
    """Create an active buyer account and return it.

    ``email`` is stored lower-cased; ``password`` must pass ``AUTH_PASSWORD_VALIDATORS``.
    Raises :class:`EmailTaken` (400 ``email_taken``) when the email is in use (case-insensitively),
    ``ApplicationError(code="invalid")`` with ``fields`` ``{"email"|"password": [...]}`` otherwise.
    """
    email = normalize_email(email)
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ApplicationError(exc.messages[0], code="invalid", fields={"email": list(exc.messages)}) from None
    display_name = (display_name or "").strip()
    if len(display_name) > 120:
        raise _invalid("display_name", "At most 120 characters.")
    if not isinstance(password, str) or not password:
        raise _invalid("password", "This field is required.")
    if selectors.user_get_by_email(email=email) is not None:
        raise EmailTaken("An account with this email already exists.", fields={"email": ["Already registered."]})
    candidate = User(email=email, display_name=display_name, roles=[Role.BUYER])
    _check_password(password, user=candidate, field="password")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, display_name=display_name, roles=[Role.BUYER]
            )
    except IntegrityError:  # a concurrent registration of the same email won
        raise EmailTaken("An account with this email already exists.", fields={"email": ["Already registered."]}) from None
    return user


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Update the profile of ``user`` from ``data`` (keys ``display_name``, ``phone``; others are
    ignored: email and roles are not changed here) and return it.

    Raises ``ApplicationError(code="invalid", fields=...)`` for a malformed phone or a display
    name over 120 characters.
    """
    changed: list[str] = []
    if "display_name" in data:
        name = (data["display_name"] or "").strip()
        if len(name) > 120:
            raise _invalid("display_name", "At most 120 characters.")
        user.display_name = name
        changed.append("display_name")
    if "phone" in data:
        user.phone = validate_phone(data["phone"])
        changed.append("phone")
    if changed:
        user.save(update_fields=changed)
    return user


def user_revoke_refresh_tokens(*, user: User) -> int:
    """Sign ``user`` out everywhere: blacklist every unexpired outstanding refresh token and revoke
    the session (``sid``) each belongs to, so the access tokens of those sessions stop working at
    once too. Returns how many refresh tokens were newly blacklisted."""
    pending = list(
        OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    )
    rows = [BlacklistedToken(token=t) for t in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    for outstanding in pending:
        revoke_session(_stored_session_id(outstanding))
    return len(rows)


def _stored_session_id(outstanding: OutstandingToken) -> str | None:
    """The ``sid`` claim of a refresh token as we stored it at issue (our own database row, so
    the signature is not checked again); None for tokens without one."""
    try:
        claims = pyjwt.decode(outstanding.token, options={"verify_signature": False})
    except pyjwt.PyJWTError:
        return None
    sid = claims.get(SESSION_CLAIM)
    return sid if isinstance(sid, str) else None


@transaction.atomic
def user_set_active(*, user: User, is_active: bool, by: User) -> User:
    """Activate or deactivate (ban) ``user`` on behalf of the administrator ``by``; returns the user.

    Deactivating also blacklists the user's refresh tokens and, after commit, closes the user's
    WebSockets with 4401 (``core.signals.user_sessions_ended``, handled by the gateway); the user's access tokens are refused
    from then on because authentication requires an active user.
    Raises :class:`~core.exceptions.Forbidden` (403 ``forbidden``) unless ``by`` is a marketplace
    admin (``core.permissions.is_marketplace_admin``), and
    ``ApplicationError(code="cannot_deactivate_self")`` when ``by`` bans themself.
    """
    if not is_marketplace_admin(by):
        raise Forbidden("Only administrators may activate or deactivate accounts.")
    if not is_active and by.pk == user.pk:
        raise ApplicationError("You cannot deactivate your own account.", code="cannot_deactivate_self")
    locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    locked.is_active = bool(is_active)
    locked.save(update_fields=["is_active"])
    user.is_active = locked.is_active
    if not is_active:
        user_revoke_refresh_tokens(user=locked)
        user_sessions_ended.send(sender=User, user_id=locked.pk, reason="account_disabled")
    logger.info("user %s %s by %s", locked.pk, "activated" if is_active else "deactivated", by.pk)
    return user


# --- JWT sign-in, refresh, logout ---------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    """A signed ``access`` JWT and ``refresh`` JWT (strings)."""

    access: str
    refresh: str


class _RefreshTokenReused(TokenError):
    pass


class _CheckedRefreshToken(RefreshToken):
    """A refresh token whose blacklist check raises a distinguishable error."""

    def check_blacklist(self) -> None:
        jti = self.payload.get(jwt_settings.JTI_CLAIM)
        if jti and BlacklistedToken.objects.filter(token__jti=jti).exists():
            raise _RefreshTokenReused("Token is blacklisted")


class _AnyStateRefreshToken(RefreshToken):
    """A refresh token verified (signature, expiry, type) without the blacklist check."""

    def check_blacklist(self) -> None:
        return None


def _decode_refresh(
    raw: Any, *, allow_blacklisted: bool = False, status: int = http.HTTP_401_UNAUTHORIZED
) -> RefreshToken:
    if not isinstance(raw, str) or not raw or len(raw) > 4096:
        raise TokenInvalid("A refresh token is required.", status=status)
    cls = _AnyStateRefreshToken if allow_blacklisted else _CheckedRefreshToken
    try:
        return cls(raw)
    except _RefreshTokenReused:
        raise TokenBlacklisted("Token is blacklisted: it was already used or logged out.", status=status) from None
    except TokenError as exc:
        raise TokenInvalid(f"Token refused: {exc}", status=status) from None


def _locked_outstanding(token: RefreshToken, user: User) -> OutstandingToken:
    jti = token[jwt_settings.JTI_CLAIM]
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={
            "user": user,
            "created_at": token.current_time,
            "token": str(token),
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    return OutstandingToken.objects.select_for_update().get(pk=outstanding.pk)


def _issue_pair(user: User, *, sid: str | None = None) -> TokenPair:
    """A new refresh token (and its access token) in session ``sid``, or in a new session."""
    refresh = RefreshToken.for_user(user)  # also stored as an OutstandingToken
    refresh[SESSION_CLAIM] = sid or new_session_id()
    # for_user stored the token before the sid was added; keep the stored copy exact, it is how a
    # password reset or a ban finds the sessions to revoke (user_revoke_refresh_tokens).
    OutstandingToken.objects.filter(jti=refresh[jwt_settings.JTI_CLAIM]).update(token=str(refresh))
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def auth_sign_in(*, email: str, password: str, request: Any = None) -> TokenPair:
    """Check ``email`` (case-insensitive) and ``password`` and return a fresh :class:`TokenPair`.

    Updates ``last_login`` and then sends :data:`core.signals.user_signed_in` (``sender=User``,
    ``user``, ``request``), robustly: a failing receiver is logged, the sign-in still succeeds.
    Raises :class:`InvalidCredentials` (401 ``invalid_credentials``) for an unknown email, a wrong
    password or an inactive account.
    """
    if not isinstance(email, str) or not isinstance(password, str) or not email.strip():
        raise InvalidCredentials("No active account found with the given credentials.")
    user = authenticate(request, email=normalize_email(email), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials("No active account found with the given credentials.")
    with transaction.atomic():
        pair = _issue_pair(user)
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, user)
    for receiver, result in user_signed_in.send_robust(sender=User, user=user, request=request):
        if isinstance(result, Exception):
            logger.error("user_signed_in receiver %r failed", receiver, exc_info=result)
    return pair


def auth_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new access token and (rotation) a new refresh token.

    The presented refresh token is blacklisted (``BLACKLIST_AFTER_ROTATION``) under a row lock, so
    two concurrent uses of one token yield one pair and one refusal. Raises
    :class:`TokenBlacklisted` (401 ``token_blacklisted``) for a token already used or logged out,
    :class:`TokenInvalid` (401 ``token_not_valid``) for a malformed, forged, expired or
    non-refresh token, or when its user is unknown or inactive.
    """
    token = _decode_refresh(refresh)
    sid = token.get(SESSION_CLAIM)
    if is_session_revoked(sid):
        raise TokenBlacklisted("Token is blacklisted: its session was logged out.")
    user = selectors.user_get(user_id=token.get(jwt_settings.USER_ID_CLAIM))
    if user is None or not user.is_active:
        raise TokenInvalid("Token refused: unknown or inactive user.")
    if not jwt_settings.ROTATE_REFRESH_TOKENS:
        return TokenPair(access=str(token.access_token), refresh=refresh)
    with transaction.atomic():
        outstanding = _locked_outstanding(token, user)
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            raise TokenBlacklisted("Token is blacklisted: it was already used or logged out.")
        if jwt_settings.BLACKLIST_AFTER_ROTATION:
            BlacklistedToken.objects.create(token=outstanding)
        pair = _issue_pair(user, sid=sid if isinstance(sid, str) else None)
    # last_login is not touched here: it is part of password-reset tokens, and a background refresh
    # must not void a reset link the user is about to open.
    return pair


def auth_logout(*, user: User, refresh: str, access_token: Token | None = None) -> None:
    """Sign ``user`` out of the session of ``refresh``: blacklist ``refresh``, revoke its session
    (every access token minted in that refresh-token family, even before the last refresh; see
    ``core.tokens``), revoke ``access_token`` (the token of the request) and, after commit, close
    the user's WebSockets with 4401 (reason ``logged_out``).

    A refresh token that is already blacklisted is accepted (logout is idempotent). Raises
    :class:`TokenInvalid` with status 400 (``token_not_valid``) for a malformed, forged, expired or
    non-refresh token and :class:`TokenNotOwned` (403 ``token_not_owned``) for another user's token.
    """
    token = _decode_refresh(refresh, allow_blacklisted=True, status=http.HTTP_400_BAD_REQUEST)
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise TokenNotOwned("This refresh token belongs to another user.")
    # Revoke first: the sockets closed on commit must not re-authenticate with a token of this session.
    sid = token.get(SESSION_CLAIM)
    revoke_session(sid if isinstance(sid, str) else None)
    if access_token is not None:
        revoke_access_token(access_token)
    with transaction.atomic():
        outstanding = _locked_outstanding(token, user)
        BlacklistedToken.objects.get_or_create(token=outstanding)
        user_sessions_ended.send(sender=User, user_id=user.pk, reason="logged_out")


# --- password reset -----------------------------------------------------------------------------

PASSWORD_RESET_TEMPLATES = "core/email/password_reset"


def password_reset_link(*, user: User) -> tuple[str, str, str]:
    """``(uid, token, url)`` for resetting the password of ``user``: ``uid`` is the base64 of the
    user id, ``token`` comes from Django's ``default_token_generator`` (valid for
    ``PASSWORD_RESET_TIMEOUT``, void once the password or ``last_login`` changes) and ``url`` is
    ``{FRONTEND_URL}{PASSWORD_RESET_PATH}?uid=…&token=…`` (path default ``/password-reset/confirm/``)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    base = settings.FRONTEND_URL.rstrip("/")
    path = getattr(settings, "PASSWORD_RESET_PATH", "/password-reset/confirm/")
    return uid, token, f"{base}{path}?uid={uid}&token={token}"


def password_reset_request(*, email: str) -> None:
    """Email a password-reset link to the active account with ``email`` (case-insensitive), if
    any. Returns ``None`` whether or not such an account exists (no account enumeration), and
    never raises for a delivery failure (it is logged). The message is rendered from
    ``templates/core/email/password_reset.{subject.txt,txt,html}`` (plain text + HTML)."""
    user = selectors.user_get_by_email(email=email) if isinstance(email, str) else None
    if user is None or not user.is_active or not user.has_usable_password():
        return
    uid, token, url = password_reset_link(user=user)
    context = {
        "user": user,
        "uid": uid,
        "token": token,
        "reset_url": url,
        "site_name": getattr(settings, "SITE_NAME", "Marketplace"),
        "site_url": settings.FRONTEND_URL.rstrip("/"),
        "valid_hours": max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 3600),
    }
    subject = " ".join(render_to_string(f"{PASSWORD_RESET_TEMPLATES}.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{PASSWORD_RESET_TEMPLATES}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(render_to_string(f"{PASSWORD_RESET_TEMPLATES}.html", context), "text/html")
    try:
        message.send()
    except Exception:  # a mail server fault must neither leak which emails exist nor answer 500
        logger.exception("password reset email to user %s failed", user.pk)


def _user_from_uid(uid: Any) -> User | None:
    if not isinstance(uid, str) or not uid or len(uid) > 128:
        return None
    try:
        raw = urlsafe_base64_decode(uid).decode()
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return selectors.user_get(user_id=raw)


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set ``new_password`` for the user named by ``uid`` when ``token`` is valid; returns the user.

    The link becomes void (the token depends on the password hash); the user's refresh tokens are
    blacklisted and, after commit, the user's WebSockets are closed with 4401 (sign out everywhere).
    Raises :class:`ResetTokenInvalid` (400 ``invalid_token``) for a malformed, expired or used
    link or an inactive account, and ``ApplicationError(code="invalid",
    fields={"new_password": [...]})`` when the password fails ``AUTH_PASSWORD_VALIDATORS``.
    """
    user = _user_from_uid(uid)
    if (
        user is None
        or not user.is_active
        or not isinstance(token, str)
        or len(token) > 256
        or not default_token_generator.check_token(user, token)
    ):
        raise ResetTokenInvalid("The password reset link is invalid or has expired.")
    _check_password(new_password, user=user, field="new_password")
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_revoke_refresh_tokens(user=user)
    user_sessions_ended.send(sender=User, user_id=user.pk, reason="password_changed")
    return user


# --- addresses ----------------------------------------------------------------------------------

ADDRESS_FIELDS = (
    "label",
    "full_name",
    "line1",
    "line2",
    "city",
    "postal_code",
    "region",
    "country",
    "phone",
    "latitude",
    "longitude",
    "is_default_shipping",
    "is_default_billing",
)


def _lock_addresses(user_id: Any) -> list[Address]:
    # The user row (FOR NO KEY UPDATE: rows referencing the user can still be inserted) serialises
    # every address write of this user, so two concurrent "make default" never both win; the
    # addresses themselves are locked as well.
    User.objects.select_for_update(no_key=True).filter(pk=user_id).first()
    return list(Address.objects.select_for_update().filter(user_id=user_id).order_by("id"))


def _apply_address_data(address: Address, data: dict[str, Any]) -> None:
    for name in ADDRESS_FIELDS:
        if name not in data or name in ("latitude", "longitude"):
            continue
        value = data[name]
        if name == "country":
            value = validate_country(value)
        elif name == "phone":
            value = validate_phone(value)
        elif name.startswith("is_default_"):
            value = bool(value)
        elif isinstance(value, str):
            value = value.strip()
        setattr(address, name, value)
    if "latitude" in data or "longitude" in data:
        lat = data.get("latitude", address.latitude)
        lon = data.get("longitude", address.longitude)
        address.latitude, address.longitude = validate_coordinates(lat, lon)
    try:
        address.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        raise _fields_error(exc) from None


def _clear_other_defaults(address: Address, others: list[Address]) -> None:
    for flag in ("is_default_shipping", "is_default_billing"):
        if getattr(address, flag):
            stale = [a.pk for a in others if a.pk != address.pk and getattr(a, flag)]
            if stale:
                Address.objects.filter(pk__in=stale).update(**{flag: False})


@transaction.atomic
def address_create(*, user: User, data: dict[str, Any]) -> Address:
    """Save a new address of ``user`` from ``data`` (keys of :data:`ADDRESS_FIELDS`; ``full_name``,
    ``line1``, ``city``, ``postal_code`` and ``country`` are required) and return it.

    ``country`` must be an ISO 3166-1 alpha-2 code (stored upper-case); ``latitude``/``longitude``
    are optional but go together and are range-checked. Setting ``is_default_shipping`` /
    ``is_default_billing`` clears that flag on the user's other addresses in the same transaction.
    Raises ``ApplicationError(code="invalid", fields=...)`` for bad values and
    :class:`AddressLimitReached` (400) past :data:`MAX_ADDRESSES_PER_USER`.
    """
    others = _lock_addresses(user.pk)
    if len(others) >= MAX_ADDRESSES_PER_USER:
        raise AddressLimitReached(f"You can save at most {MAX_ADDRESSES_PER_USER} addresses.")
    address = Address(user=user)
    _apply_address_data(address, data)
    _clear_other_defaults(address, others)
    address.save()
    addresses_changed.send(sender=Address, user_id=user.pk)
    return address


@transaction.atomic
def address_update(*, address: Address, data: dict[str, Any]) -> Address:
    """Change ``address`` with the keys of ``data`` that are in :data:`ADDRESS_FIELDS` (same rules
    as :func:`address_create`) and return it; setting a default flag clears it on the owner's
    other addresses in the same transaction. Raises ``ApplicationError(code="invalid", fields=...)``
    and :class:`core.selectors.AddressNotFound` when the address was deleted meanwhile."""
    others = _lock_addresses(address.user_id)
    current = next((a for a in others if a.pk == address.pk), None)
    if current is None:
        raise selectors.AddressNotFound("Address not found.")
    _apply_address_data(current, data)
    _clear_other_defaults(current, others)
    current.save()
    addresses_changed.send(sender=Address, user_id=current.user_id)
    return current


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete ``address`` (orders keep their own snapshot of it). Deleting a default address
    leaves the user without that default."""
    _lock_addresses(address.user_id)
    Address.objects.filter(pk=address.pk).delete()
    addresses_changed.send(sender=Address, user_id=address.user_id)
