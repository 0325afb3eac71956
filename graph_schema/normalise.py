"""Normalisation of identifier values: the same phone written two ways must become one node."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


class IdentifierError(ValueError):
    """A value that cannot be an identifier of the given type."""


_SEPARATORS = re.compile(r"[\s\-_.·/]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WALLET = re.compile(r"^[A-Za-z0-9:]{16,128}$")
MAX_VALUE = 256


def phone(value: str, region: str = "FR") -> str:
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise IdentifierError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise IdentifierError("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def iban(value: str) -> str:
    compact = _SEPARATORS.sub("", value).upper()
    if not compact.isalnum():
        raise IdentifierError("a bank account number has letters and digits only")
    try:
        return str(IBAN(compact).compact)
    except SchwiftyException:
        return compact  # not an IBAN (a domestic or foreign number): kept raw, upper-case


def plate(value: str) -> str:
    compact = _SEPARATORS.sub("", value).upper()
    if not compact.isalnum():
        raise IdentifierError("a plate or number has letters and digits only")
    return compact


def wallet(value: str) -> str:
    compact = value.strip()
    if not _WALLET.match(compact):
        raise IdentifierError("a wallet address is 16 to 128 letters and digits")
    # Hex (Ethereum-style) addresses are case-insensitive; base58 ones are not.
    return compact.lower() if compact.lower().startswith("0x") else compact


def email(value: str) -> str:
    compact = value.strip().lower()
    if not _EMAIL.match(compact):
        raise IdentifierError("not an e-mail address")
    return compact


NORMALISERS: dict[str, Callable[[str], str]] = {
    "phone": phone,
    "iban": iban,
    "plate": plate,
    "wallet": wallet,
    "email": email,
}


def normalise(normaliser: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("an identifier value is a non-empty string")
    if len(value) > MAX_VALUE:
        raise IdentifierError(f"an identifier value has at most {MAX_VALUE} characters")
    result = NORMALISERS[normaliser](value)
    if not result:
        raise IdentifierError("empty after normalisation")
    return result
