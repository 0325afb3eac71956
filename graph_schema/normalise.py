"""Normalisation of identifier values: the same phone written two ways must become one node."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import imei as stdnum_imei
from stdnum.exceptions import InvalidChecksum, ValidationError


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


def imei(value: str) -> str:
    """An IMEI as its 15 digits: 14 and the Luhn check digit (python-stdnum's `imei` checks it).
    stdnum also takes 14 digits without a check digit and 16-digit IMEISVs; neither is a key that
    two agencies would write the same way, so only the 15-digit form is accepted."""
    compact = _SEPARATORS.sub("", value)
    if not compact.isdigit() or len(compact) != 15:
        raise IdentifierError("an IMEI is 15 digits (14 and a check digit); separators are ignored")
    try:
        return str(stdnum_imei.validate(compact))
    except InvalidChecksum:
        raise IdentifierError("wrong IMEI check digit (Luhn)") from None
    except ValidationError as exc:
        raise IdentifierError(f"not an IMEI: {exc}") from None


NORMALISERS: dict[str, Callable[[str], str]] = {
    "phone": phone,
    "iban": iban,
    "plate": plate,
    "wallet": wallet,
    "email": email,
    "imei": imei,
}

# Properties an identifier's normalised value implies, set by the service wherever it is merged.
DERIVED: dict[str, Callable[[str], dict[str, str]]] = {
    "imei": lambda value: {"tac": value[:8]},  # the Type Allocation Code: maker and model
}


def derived(normaliser: str | None, value: str) -> dict[str, str]:
    """What the normalised `value` of an identifier says of itself (an IMEI's TAC), or nothing."""
    make = DERIVED.get(normaliser or "")
    return make(value) if make is not None else {}


def normalise(normaliser: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("an identifier value is a non-empty string")
    if len(value) > MAX_VALUE:
        raise IdentifierError(f"an identifier value has at most {MAX_VALUE} characters")
    result = NORMALISERS[normaliser](value)
    if not result:
        raise IdentifierError("empty after normalisation")
    return result
