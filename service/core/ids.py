"""Stable, opaque ids: UUID5 of what makes an item itself. They reveal nothing of the content."""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f1c1d2e-0a57-5b0e-9d7e-0fa57a9a7a11")


def entity_id(agency: str, type_: str, ref: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"entity\x1f{agency}\x1f{type_}\x1f{ref}"))


def identifier_id(type_: str, value: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"identifier\x1f{type_}\x1f{value}"))


def link_id(agency: str, type_: str, source_id: str, target_id: str, ref: str = "") -> str:
    return str(uuid.uuid5(NAMESPACE, f"link\x1f{agency}\x1f{type_}\x1f{source_id}\x1f{target_id}\x1f{ref}"))
