"""Checks of a store's profile fields, each with a well-kept library where one knows the rule.

* **Phone**: libphonenumber (``phonenumbers``, through django-phonenumber-field's model field),
  parsed in the store's country when given without a ``+`` prefix, kept in E.164.
* **Country**: ISO 3166-1 alpha-2 (django-countries' list).
* **Tax identifier**: python-stdnum. An EU VAT number (with its country prefix, ``DE…``,
  ``EL…`` for Greece, ``XI…`` for Northern Ireland, or without it for a store in an EU country)
  is checked by ``stdnum.eu.vat`` (format and check digits) and kept with its prefix; a store in
  a country python-stdnum has a VAT (or tax number) module for (GB, CH, NO, AU, CA, ...) is
  checked by that module; elsewhere (or without a country) the identifier is only trimmed,
  upper-cased and limited to letters, digits and ``-./ ``. No check calls a tax authority (VIES
  needs the network).
* **Website**: an absolute ``http``/``https`` URL (Django's ``URLValidator``).

Every function returns the normalised value and raises ``ApplicationError`` 400 ``invalid``
naming the field.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django_countries import countries
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

from commerce.common.validation import invalid

#: characters of a tax identifier no library checks
TAX_ID_FREE = re.compile(r"^[A-Z0-9][A-Z0-9 ./-]{1,31}$")
#: EU VAT prefixes that are not the ISO code of the country (Greece)
VAT_PREFIX_OF = {"GR": "EL"}
#: every prefix of an EU VAT number (``XI``: Northern Ireland)
EU_VAT_PREFIXES = frozenset(VAT_PREFIX_OF.get(c.upper(), c.upper()) for c in eu_vat.MEMBER_STATES)
_url = URLValidator(schemes=["http", "https"])


def validate_store_country(value: str) -> str:
    """``value`` as an upper-case ISO 3166-1 alpha-2 code django-countries knows, or ``""``."""
    code = (value or "").strip().upper() if isinstance(value, str) else None
    if code is None or (code and code not in dict(countries)):
        raise invalid("country", "Enter an ISO 3166-1 alpha-2 country code, e.g. DE.")
    return code


def validate_store_email(value: str, *, field: str = "contact_email") -> str:
    """``value`` stripped and lower-cased when it is an e-mail address; ``""`` allowed."""
    email = (value or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise invalid(field, "Enter a valid e-mail address.") from None
    return email


def validate_store_phone(value: str, *, country: str = "", field: str = "contact_phone") -> str:
    """``value`` in E.164 (``+4930123456``) when libphonenumber finds a valid number; a number
    without ``+`` is read in ``country`` (the store's). ``""`` allowed."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        hint = "" if text.startswith("+") or country else " Give it with its country code (+49...) or set the country."
        raise invalid(field, "Enter a valid phone number." + hint)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_website(value: str) -> str:
    """An absolute ``http``/``https`` URL of at most 300 characters, or ``""``."""
    url = (value or "").strip()
    if url:
        try:
            if len(url) > 300:
                raise DjangoValidationError("too long")
            _url(url)
        except DjangoValidationError:
            raise invalid("website", "Enter a full http:// or https:// address of at most 300 characters.") from None
    return url


def _eu_prefix(country: str) -> str | None:
    prefix = VAT_PREFIX_OF.get(country, country)
    return prefix if prefix in EU_VAT_PREFIXES else None


def _country_module(code: str):
    return get_cc_module(code, "vat") if re.fullmatch(r"[A-Z]{2}", code or "") else None


def validate_tax_id(value: str, *, country: str = "") -> str:
    """A store's tax identifier, checked per country (see the module docstring) and returned in
    its compact form (``DE136695976``). ``""`` allowed."""
    raw = (value or "").strip().upper() if isinstance(value, str) else ""
    if not raw:
        return ""
    country = (country or "").upper()
    compact = re.sub(r"[\s.\-/]", "", raw)
    try:
        if compact[:2] in EU_VAT_PREFIXES:
            return eu_vat.validate(compact)
        prefix = _eu_prefix(country)
        if prefix:
            return eu_vat.validate(prefix + compact)
        module = _country_module(country) or (_country_module(compact[:2]) if compact[:2].isalpha() else None)
        if module is not None:
            return module.validate(compact)
    except StdnumError as exc:
        raise invalid("tax_id", f"Not a valid tax identifier{f' for {country}' if country else ''}: "
                                f"{exc.message.rstrip('.')}.") from None
    if not TAX_ID_FREE.match(raw):
        raise invalid("tax_id", "A tax identifier has 2-32 letters, digits, spaces or -./ characters.")
    return raw
