"""The access policy as data: agencies, the central agency, roles and their permissions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

Permission = Literal["read", "write", "ingest", "manage_targets", "read_audit", "admin"]
Sharing = Literal["open", "restricted", "confidential"]
SHARING_LEVELS: tuple[Sharing, ...] = ("open", "restricted", "confidential")
AGENCY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PERMISSIONS: tuple[Permission, ...] = ("read", "write", "ingest", "manage_targets", "read_audit", "admin")


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    contact: str
    roles: frozenset[str] | None = None  # None: every role of the policy
    max_sharing: Sharing = "confidential"


@dataclass(frozen=True)
class Policy:
    central_agency: str
    agencies: dict[str, Agency]
    roles: dict[str, frozenset[Permission]]
    default_sharing: Sharing = "restricted"
    statistics_count_all: bool = True
    extra: dict[str, object] = field(default_factory=dict)

    def permissions(self, agency: str, roles: list[str]) -> frozenset[Permission]:
        """What a caller of `agency` holding `roles` may do; unknown roles grant nothing."""
        spec = self.agencies[agency]
        granted: set[Permission] = set()
        for role in roles:
            if spec.roles is not None and role not in spec.roles:
                continue
            granted |= self.roles.get(role, frozenset())
        return frozenset(granted)

    def contact(self, agency: str) -> str:
        spec = self.agencies.get(agency)
        return spec.contact if spec else ""

    def is_central(self, agency: str) -> bool:
        return agency == self.central_agency


def load_policy(path: Path) -> Policy:
    raw = yaml.safe_load(path.read_text())
    agencies = {
        code: Agency(
            code=code,
            name=spec.get("name", code),
            contact=spec.get("contact", ""),
            roles=frozenset(spec["roles"]) if "roles" in spec else None,
            max_sharing=spec.get("max_sharing", "confidential"),
        )
        for code, spec in raw["agencies"].items()
    }
    for code, agency in agencies.items():
        if not AGENCY_RE.match(code):
            raise ValueError(f"agency code {code!r} must be lower-case letters, digits and underscores")
        if agency.max_sharing not in SHARING_LEVELS:
            raise ValueError(f"agency {code!r}: max_sharing {agency.max_sharing!r} is not one of {SHARING_LEVELS}")
        unknown_roles = sorted((agency.roles or frozenset()) - set(raw["roles"]))
        if unknown_roles:
            raise ValueError(f"agency {code!r} names roles the policy does not define: {unknown_roles}")
    central = raw["central_agency"]
    if central not in agencies:
        raise ValueError(f"central agency {central!r} is not among the agencies")
    roles: dict[str, frozenset[Permission]] = {}
    for role, perms in raw["roles"].items():
        unknown = set(perms) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"role {role!r} names unknown permissions {sorted(unknown)}")
        roles[role] = frozenset(perms)
    default_sharing = raw.get("defaults", {}).get("sharing", "restricted")
    if default_sharing not in SHARING_LEVELS:
        raise ValueError(f"default sharing {default_sharing!r} is not one of {SHARING_LEVELS}")
    return Policy(
        central_agency=central,
        agencies=agencies,
        roles=roles,
        default_sharing=default_sharing,
        statistics_count_all=bool(raw.get("statistics_count_all", True)),
    )


@lru_cache
def policy_from_file(path: Path) -> Policy:
    return load_policy(path)
