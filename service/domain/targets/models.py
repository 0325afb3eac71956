"""The shapes of the priority target list (`/v1/priority-targets`): what a caller sends, what an
entry, its history and its evidence panel look like to a viewer (see `service.domain.targets.workflow`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["proposed", "active", "rejected", "suspended", "neutralised", "archived"]
Sort = Literal["tier", "-tier", "review_due", "-review_due", "updated_at", "-updated_at"]


# --- requests ----------------------------------------------------------------------------------


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str = Field(min_length=1, max_length=200, description="Id of the Person or Network to designate")
    justification: str = Field(min_length=1, max_length=10_000, description="Why this target should be a priority")
    proposed_tier: int = Field(ge=1, le=3, description="1 (highest) to 3")


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Status = Field(description="The status to move to")
    reason: str = Field(min_length=1, max_length=10_000, description="Why; kept in the history")
    tier: int | None = Field(None, ge=1, le=3, description="On activation; defaults to the proposed tier")
    lead_agency: str | None = Field(None, min_length=1, max_length=100,
                                    description="On activation: the agency leading the investigations")
    lead_unit: str | None = Field(None, min_length=1, max_length=200, description="On activation: the lead unit")
    neutralised_at: dt.date | None = Field(None, description="Required when neutralising (YYYY-MM-DD)")
    case_ref: str | None = Field(None, min_length=1, max_length=200,
                                 description="Required when neutralising: the judicial case reference")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=10_000, description="What the review concluded")
    tier: int | None = Field(None, ge=1, le=3)
    lead_agency: str | None = Field(None, min_length=1, max_length=100)
    lead_unit: str | None = Field(None, min_length=1, max_length=200)


class Filters(BaseModel):
    """The list's filters and order, shared by the list, the CSV export and the HTML report."""
    status: Status | None = Field(None, description="Only entries in this status")
    tier: int | None = Field(None, ge=1, le=3)
    lead_agency: str | None = Field(None, max_length=100)
    territory: str | None = Field(None, max_length=200,
                                  description="Network territory, or a territory of the person's networks "
                                              "(case-insensitive)")
    overdue: bool | None = Field(None, description="true: review_due before today; false: not overdue")
    sort: Sort = Field("tier", description="tier, review_due or updated_at; prefix `-` for descending")


class Page(Filters):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


# --- an entry as a viewer sees it --------------------------------------------------------------


class ProposedBy(BaseModel):
    agency: str
    unit: str | None = None
    sub: str | None = Field(None, description="Shown to the central agency and the proposer's agency only")


class TargetOut(BaseModel):
    id: str
    status: Status
    tier: int | None
    proposed_tier: int | None
    justification: str | None = Field(description="Withheld unless the viewer sees the entity in full, "
                                                   "is the central agency or the proposer's agency")
    entity_id: str | None
    entity_type: str | None
    entity: dict[str, Any] | None = Field(description="The designated entity as the viewer may see it "
                                                      "(full or stub); null when hidden")
    entity_hidden: bool = Field(description="True when the entity is confidential to the viewer")
    lead_agency: str | None
    lead_unit: str | None
    lead_contact: str | None = Field(description="How to reach the lead agency (from the access policy)")
    proposed_by: ProposedBy
    review_due: str | None
    overdue: bool
    last_reviewed_at: str | None
    neutralised_at: str | None
    neutralised_case_ref: str | None
    territories: list[str] = Field(description="Territories of the network, or of the person's networks, "
                                               "that the viewer may see")
    version: int
    created_at: str
    updated_at: str
    allowed_transitions: list[str]


class TargetList(BaseModel):
    items: list[TargetOut]
    total: int


class VersionOut(BaseModel):
    target_id: str
    version: int
    at: str
    by_sub: str | None
    by_agency: str | None
    by_unit: str | None
    kind: str = Field(description="proposal, transition or review")
    transition_from: str | None
    transition_to: str | None
    reason: str | None
    values: dict[str, Any] | None = Field(description="The whole entry after the change")
    previous: dict[str, Any] | None = Field(description="The whole entry before the change (null for the proposal)")
    redacted: bool


class HistoryOut(BaseModel):
    target_id: str
    versions: list[VersionOut]


# --- the evidence panel ------------------------------------------------------------------------


class CasesByAgency(BaseModel):
    agency: str | None
    cases: int


class SeizuresByDrug(BaseModel):
    drug: str
    unit: str | None
    seizures: int
    quantity: float


class AssetsByStatus(BaseModel):
    status: str
    assets: int
    value_eur: float


class NetworkSize(BaseModel):
    networks: int
    members: int


class NewLinks(BaseModel):
    count: int
    items: list[dict[str, Any]] = Field(description="Links the viewer may know, newest first, with both ends")


class EvidenceOut(BaseModel):
    target_id: str
    entity_id: str | None
    entity_type: str | None
    entity_hidden: bool
    statistics_count_all: bool = Field(description="Whether counts include items hidden from the viewer")
    since: str | None = Field(description="The last review (or activation, or proposal): start of `links_since_review`")
    cases_total: int
    cases_by_agency: list[CasesByAgency]
    seizures_by_drug: list[SeizuresByDrug]
    assets_by_status: list[AssetsByStatus]
    network: NetworkSize | None
    links_since_review: NewLinks
