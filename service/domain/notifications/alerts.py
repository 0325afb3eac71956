"""An alert as the API serves it, to its recipient agency: one shape for `GET /v1/alerts` and for
the webhooks that push alerts to partner systems (`webhooks.payload`), so the two never differ."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

AlertKind = Literal["shared_identifier", "objective_overlap", "late_hit", "possible_match", "watch_hit"]


def absent(value: Any) -> bool:
    return value is None


class MatchReason(BaseModel):
    """Why two persons may be the same: which field agreed and how — never the other side's values."""

    field: str = Field(description="`name`, `birth_date` or `identifier`")
    kind: str = Field(description="`exact` or `fuzzy` (name), `equal` (birth date), `shared` (identifier)")
    score: float | None = Field(None, exclude_if=absent,
                                description="`name`: similarity, 0..1 (transliteration-aware)")
    identifier_type: str | None = Field(None, exclude_if=absent,
                                        description="`shared`: the type of the identifier both persons use")
    identifier_id: str | None = Field(None, exclude_if=absent, description="`shared`: its id")


class AlertOut(BaseModel):
    id: str
    kind: str = Field(description="`shared_identifier`, `objective_overlap`, `late_hit`, `possible_match` "
                                  "or `watch_hit`")
    created_at: str
    entity_id: str | None = Field(description="The recipient's own entity; for `late_hit`, the identifier")
    entity_name: str | None = Field(None, description="The name of the recipient's own entity (null for an "
                                                      "identifier or an entity since deleted)")
    priority: bool = Field(False, description="The entity is an active priority target or an open FNOS "
                                              "objective of the caller's unit: such alerts come first")
    identifier_id: str | None = Field(None, exclude_if=absent,
                                      description="`shared_identifier`: the identifier both agencies' data use")
    counterpart_agency: str
    counterpart_contact: str
    acknowledged: bool
    # Kind-specific fields: absent from alerts of the other kinds (their shape is unchanged).
    purpose: str | None = Field(None, exclude_if=absent,
                                description="`late_hit` only: the purpose the searcher stated for its lookup")
    reasons: list[MatchReason] | None = Field(None, exclude_if=absent,
                                              description="`possible_match` only: why the persons may be the same")
    match_id: str | None = Field(None, exclude_if=absent,
                                 description="`possible_match` only: the candidate, GET /v1/matches/{id}")
    watch_id: str | None = Field(None, exclude_if=absent,
                                 description="`watch_hit` only: the caller's watch that was hit, GET /v1/watches")


def alert_out(row: dict[str, Any]) -> AlertOut:
    return AlertOut(id=row["id"], kind=row["kind"], created_at=row["created_at"], entity_id=row.get("entity_id"),
                    entity_name=row.get("entity_name"), priority=bool(row.get("priority")),
                    identifier_id=row.get("identifier_id") if row["kind"] == "shared_identifier" else None,
                    counterpart_agency=row["counterpart_agency"],
                    counterpart_contact=row.get("counterpart_contact") or "",
                    acknowledged=bool(row.get("acknowledged")), purpose=row.get("purpose"),
                    reasons=json.loads(row["reasons"]) if row.get("reasons") else None, match_id=row.get("match_id"),
                    watch_id=row.get("watch_id"))
