"""The access policy as data: agencies, the central agency, roles and their permissions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import yaml

# The access model's codes, spelled once: each Literal is the type (pydantic models, OpenAPI),
# the tuple beside it the same values for checks and messages.
# `contribute`: push to the batch endpoints as a write-only source (service.access.contributors).
Permission = Literal["read", "write", "ingest", "contribute", "manage_targets", "read_audit", "assess_threat", "admin"]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
Sharing = Literal["open", "restricted", "confidential"]  # least to most closely held
SHARING_LEVELS: tuple[Sharing, ...] = get_args(Sharing)
# Evaluation codes (Europol's 4x4), best first: source reliability and information accuracy.
# Stored as strings, so that "best first" is also the strings' order (A < B < C < X, "1" < "4").
Reliability = Literal["A", "B", "C", "X"]
RELIABILITY_CODES: tuple[Reliability, ...] = get_args(Reliability)
Accuracy = Literal["1", "2", "3", "4"]
ACCURACY_CODES: tuple[Accuracy, ...] = get_args(Accuracy)
Handling = Literal["H0", "H1", "H2", "H3"]
HANDLING_CODES: tuple[Handling, ...] = get_args(Handling)
AGENCY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    contact: str
    roles: frozenset[str] | None = None  # None: every role of the policy
    max_sharing: Sharing = "confidential"
    departement: str | None = None  # a CROSS's or a contributor's département (INSEE code: 13, 2A, 971)
    cross: bool = False  # a CROSS (`kind: cross`): owns what the contributors of its département push


@dataclass(frozen=True)
class Lifecycle:
    """Retention, review, late-hit and matching settings (section `lifecycle` of the policy file)."""

    review_months: int = 36  # an owned entity is due for review this long after its last update
    minor_review_months: int = 12  # … or after this long for a Person flagged `minor`
    grace_days: int = 90  # expired (deleted by `retention run`) this long after its review date
    lookup_memory_months: int = 12  # a no-hit lookup is remembered this long (late hits)
    match_name_threshold: float = 0.85  # fuzzy name score (0..1) for a possible match
    match_max_candidates: int = 200  # candidates read per person and block at ingest
    match_hub_links: int = 500  # an identifier with more links blocks no match (a hub: see queries.matches)
    # Hook budgets: past one, the batch still commits and the hook's work goes to the durable
    # queue (`service.domain.lifecycle.queue`), so an ingest never fails because its data is popular.
    hook_max_match_persons: int = 5000  # persons of one batch matched inside its transaction
    hook_max_match_walk: int = 250_000  # links of their identifiers matching would walk (identifier degrees)
    hook_max_late_hit_walk: int = 250_000  # links late hits would walk (degrees of remembered identifiers)
    hook_task_size: int = 500  # persons (matching) or identifier links (late hits) per queued task
    hook_claim_seconds: int = 300  # a worker's claim on a task; past it, another worker may take it
    hook_retry_seconds: int = 30  # first wait before a failed task is tried again (doubled per attempt, ≤ 1 h)
    hook_worker_poll_seconds: float = 2.0  # the API process's worker looks at an empty queue this often; 0: off


@dataclass(frozen=True)
class Money:
    """Thresholds of the money analyses (section `money` of the policy file): the money-flow search
    bounds and the laundering indicators' rules (`service.domain.money.flows`)."""

    flow_walk_budget: int = 5000  # transfers one level of a flow search may read (past it: `truncated`)
    round_trip_max_hops: int = 4  # money back to its origin within this many hops
    fan_min_counterparties: int = 5  # distinct payers (fan-in) or payees (fan-out) of one account
    structuring_threshold_eur: float = 10_000.0  # the reporting threshold transfers stay under
    structuring_margin_eur: float = 1_000.0  # "just under": threshold - margin <= amount < threshold
    structuring_min_count: int = 3  # such transfers, in or out of one account, in the window
    pass_through_days: int = 3  # money out at most this long after money came in …
    pass_through_ratio: float = 0.8  # … is at least this share of what came in …
    pass_through_min_eur: float = 1_000.0  # … of at least this much in all


@dataclass(frozen=True)
class PublicReports:
    """Limits of the public reporting form (section `public_reports`, POST /v1/reports/public)."""

    per_client_per_hour: int = 5  # reports one client address may send in an hour (429 beyond)
    max_description: int = 2000  # characters of a report's description
    max_address: int = 300  # characters of a report's address text


@dataclass(frozen=True)
class Watches:
    """How long a watch lasts (section `watches`, POST /v1/watches): the default when the caller
    gives no `expires_at`, and the longest it may ask for."""

    default_days: int = 183  # about six months
    max_days: int = 366


@dataclass(frozen=True)
class Policy:
    central_agency: str
    agencies: dict[str, Agency]
    roles: dict[str, frozenset[Permission]]
    default_sharing: Sharing = "restricted"
    default_reliability: str = "X"
    default_accuracy: str = "4"
    default_handling: str = "H0"
    statistics_count_all: bool = True
    extra: dict[str, object] = field(default_factory=dict)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    money: Money = field(default_factory=Money)
    public_reports: PublicReports = field(default_factory=PublicReports)
    watches: Watches = field(default_factory=Watches)

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
            departement=str(spec["departement"]) if spec.get("departement") is not None else None,
            cross=spec.get("kind") == "cross",
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
    crosses = {a.departement: code for code, a in agencies.items() if a.cross}
    for code, agency in agencies.items():
        if agency.cross and not agency.departement:
            raise ValueError(f"CROSS agency {code!r} needs its departement")
        contributor = agency.roles is not None and "contributor" in agency.roles
        if contributor and (agency.roles != {"contributor"} or agency.departement not in crosses):
            raise ValueError(f"contributor agency {code!r} has the one role contributor and a departement "
                             f"with a CROSS (CROSS départements: {sorted(d for d in crosses if d)})")
    central = raw["central_agency"]
    if central not in agencies:
        raise ValueError(f"central agency {central!r} is not among the agencies")
    roles: dict[str, frozenset[Permission]] = {}
    for role, perms in raw["roles"].items():
        unknown = set(perms) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"role {role!r} names unknown permissions {sorted(unknown)}")
        roles[role] = frozenset(perms)
    defaults = raw.get("defaults", {}) or {}
    default_sharing = defaults.get("sharing", "restricted")
    if default_sharing not in SHARING_LEVELS:
        raise ValueError(f"default sharing {default_sharing!r} is not one of {SHARING_LEVELS}")
    codes = {"reliability": (str(defaults.get("reliability", "X")), RELIABILITY_CODES),
             "accuracy": (str(defaults.get("accuracy", "4")), ACCURACY_CODES),
             "handling": (str(defaults.get("handling", "H0")), HANDLING_CODES)}
    for name, (value, allowed) in codes.items():
        if value not in allowed:
            raise ValueError(f"default {name} {value!r} is not one of {allowed}")
    if codes["handling"][0] == "H3":
        raise ValueError("default handling H3 needs a note per item: choose H0, H1 or H2")
    return Policy(
        central_agency=central,
        agencies=agencies,
        roles=roles,
        default_sharing=default_sharing,
        default_reliability=codes["reliability"][0],
        default_accuracy=codes["accuracy"][0],
        default_handling=codes["handling"][0],
        statistics_count_all=bool(raw.get("statistics_count_all", True)),
        lifecycle=load_lifecycle(raw.get("lifecycle") or {}),
        money=load_money(raw.get("money") or {}),
        public_reports=PublicReports(**_numbers("public_reports", PublicReports(), raw.get("public_reports") or {})),  # type: ignore[arg-type]
        watches=load_watches(raw.get("watches") or {}),
    )


def _numbers(section: str, defaults: object, raw: dict[str, object]) -> dict[str, int | float]:
    """The numeric settings of a policy section whose defaults are dataclass `defaults`: unknown keys
    and non-numbers are refused; a setting whose default is whole is a whole number >= 0."""
    fields = defaults.__dataclass_fields__  # type: ignore[attr-defined]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ValueError(f"{section}: unknown settings {unknown}")
    values: dict[str, int | float] = {}
    for name in fields:
        default = getattr(defaults, name)
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{section}.{name} must be a number, got {value!r}")
        if isinstance(default, int) and (not float(value).is_integer() or value < 0):
            raise ValueError(f"{section}.{name} must be a whole number >= 0, got {value!r}")
        values[name] = int(value) if isinstance(default, int) else float(value)
    return values


def load_lifecycle(raw: dict[str, object]) -> Lifecycle:
    """The `lifecycle` section: unknown keys and out-of-range values are refused at load."""
    values = _numbers("lifecycle", Lifecycle(), raw)
    if not 0 < values["match_name_threshold"] <= 1:
        raise ValueError("lifecycle.match_name_threshold must be in (0, 1]")
    if values["review_months"] < 1 or values["minor_review_months"] < 1 or values["lookup_memory_months"] < 1:
        raise ValueError("lifecycle: review and memory periods are at least one month")
    if values["hook_task_size"] < 1 or values["hook_claim_seconds"] < 1 or values["hook_retry_seconds"] < 1:
        raise ValueError("lifecycle: hook_task_size, hook_claim_seconds and hook_retry_seconds are at least 1")
    return Lifecycle(**values)  # type: ignore[arg-type]


def load_money(raw: dict[str, object]) -> Money:
    """The `money` section: unknown keys and out-of-range values are refused at load."""
    values = _numbers("money", Money(), raw)
    negative = sorted(name for name, value in values.items() if value < 0)
    if negative:
        raise ValueError(f"money: {negative} must be >= 0")
    if values["flow_walk_budget"] < 1 or not 2 <= values["round_trip_max_hops"] <= 6:
        raise ValueError("money: flow_walk_budget is at least 1, round_trip_max_hops 2 to 6")
    if values["fan_min_counterparties"] < 2 or values["structuring_min_count"] < 2:
        raise ValueError("money: fan_min_counterparties and structuring_min_count are at least 2")
    if not 0 < values["pass_through_ratio"] <= 1:
        raise ValueError("money.pass_through_ratio must be in (0, 1]")
    if values["structuring_margin_eur"] >= values["structuring_threshold_eur"]:
        raise ValueError("money.structuring_margin_eur must be below structuring_threshold_eur")
    return Money(**values)  # type: ignore[arg-type]


def load_watches(raw: dict[str, object]) -> Watches:
    """The `watches` section: at least a day, and the default within the maximum."""
    values = _numbers("watches", Watches(), raw)
    if not 1 <= values["default_days"] <= values["max_days"]:
        raise ValueError("watches: default_days is at least 1 and at most max_days")
    return Watches(**values)  # type: ignore[arg-type]


@lru_cache
def policy_from_file(path: Path) -> Policy:
    return load_policy(path)
