"""Stable, opaque ids: UUID5 of what makes an item itself. They reveal nothing of the content.

The one derivation of every id the service gives (entities, identifiers, links, match candidates
and the `SAME_AS` links judged from them): ingest and lookups of the same item agree by construction.
"""

from __future__ import annotations

import hashlib
import uuid
from functools import lru_cache

NAMESPACE = uuid.UUID("6f1c1d2e-0a57-5b0e-9d7e-0fa57a9a7a11")
_NAMESPACE = NAMESPACE.bytes


def uuid5(name: str) -> str:
    """`str(uuid.uuid5(NAMESPACE, name))` without building UUID objects: ingest derives an id per
    item and end, so this is on its hot path (tests check it against the standard library)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Cached: a batch names the same entities and identifiers again as link ends.
@lru_cache(maxsize=200_000)
def entity_id(agency: str, type_: str, ref: str) -> str:
    return uuid5(f"entity\x1f{agency}\x1f{type_}\x1f{ref}")


@lru_cache(maxsize=200_000)
def identifier_id(type_: str, value: str) -> str:
    return uuid5(f"identifier\x1f{type_}\x1f{value}")


def link_id(agency: str, type_: str, source_id: str, target_id: str, ref: str = "") -> str:
    return uuid5(f"link\x1f{agency}\x1f{type_}\x1f{source_id}\x1f{target_id}\x1f{ref}")


def match_id(pair_key: str) -> str:
    """A possible match between two persons, from its pair key."""
    return uuid5(f"match\x1f{pair_key}")


def same_as_id(match: str) -> str:
    """The `SAME_AS` link a `same` judgement of the match creates."""
    return uuid5(f"same_as\x1f{match}")
