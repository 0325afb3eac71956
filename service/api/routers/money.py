"""Following the money over transfer events (`service.domain.money.flows`): the chains of
transfers from one account, wallet, person or company to another, and the laundering indicators
of the accounts around a network or an entity.

Only transfers you see in full make a chain or an indicator; another agency's restricted
transfers only count, per owner agency and with whom to contact, in `withheld` — never their
time, amount, parties or wording; confidential ones of other agencies are not there at all.
`since` / `until` (ISO 8601, both included) bound every analysis; times are returned in UTC with `Z`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.analyses import AnalysisShape, audit_read
from service.api.deps import OptionalPurpose, TimeWindow, get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.views import node_out
from service.core.db import Database
from service.domain.events.analyses import Window
from service.domain.money import flows as f

router = APIRouter(prefix="/v1/analytics", tags=["money"])

Node = dict[str, Any]
ERRORS = errors({404: "No node with this id is known to the caller",
                 422: "Invalid parameter (source, target, network, entity, since, until, max_hops, min_amount, "
                      "limit, a node of the wrong type…): the error names it"})


class Withheld(BaseModel):
    owner_agency: str
    contact: str = Field(description="Whom to contact at the owner agency")
    count: int = Field(description="Transfers of that agency known to exist but not yours to see")


class Hop(BaseModel):
    from_: str = Field(alias="from", description="Id of the paying account")
    to: str = Field(description="Id of the paid account")
    transfers: int = Field(description="Transfers counted on this hop (at or after the previous hop's first one)")
    amount_eur: float = Field(description="Their sum")
    first: str
    last: str


class Chain(BaseModel):
    accounts: list[Node | None] = Field(description="The accounts from source to target")
    amount_eur: float = Field(description="The smallest hop amount: at most this much can have flowed along it")
    first: str = Field(description="First transfer of the first hop")
    last: str = Field(description="Last transfer counted on any hop")
    hops: list[Hop]


class MoneyFlows(BaseModel):
    source: Node
    target: Node
    items: list[Chain] = Field(description="Largest amount first, at most `limit`")
    total: int = Field(description="Chains found")
    truncated: bool = Field(description="The search read its walk budget at some hop level, or found more than "
                                        "`limit` chains: chains may be missing")
    walk_budget: int = Field(description="Transfers one hop level of the search may read (policy)")
    withheld: list[Withheld] = Field(description="Another agency's transfers on chains you may not see, per agency")


class Reason(BaseModel):
    """Why an account is flagged; the other fields depend on `kind`."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(description="round_trip, fan_in, fan_out, structuring or pass_through")
    rule: str = Field(description="The rule, with the policy's thresholds")


class FlaggedAccount(BaseModel):
    account: Node | None
    holders: list[Node | None] = Field(description="Who of the scope holds or uses it")
    reasons: list[Reason]


class FlaggedCompany(BaseModel):
    company: Node | None
    accounts: list[str] = Field(description="Ids of its flagged accounts")
    reasons: list[str] = Field(description="The kinds of reasons its accounts raise")


class Indicators(BaseModel):
    scope: Node
    accounts: list[FlaggedAccount]
    companies: list[FlaggedCompany]
    scope_accounts: int = Field(description="Accounts and wallets in the scope")
    truncated: bool = Field(description=f"The scope held more than {f.MAX_SCOPE_ACCOUNTS} accounts: the first were "
                                        "examined")
    withheld: list[Withheld] = Field(description="Another agency's transfers to or from the scope's accounts, "
                                                 "per agency")


class _Shape(AnalysisShape):
    """The events analyses' layout (nodes by id, withheld counts with contacts), and chains."""

    def chain(self, chain: dict[str, Any]) -> dict[str, Any]:
        return {**chain, "accounts": [self.node(a) for a in chain["accounts"]]}


@router.get("/money-flows", responses={200: {"model": MoneyFlows}, **ERRORS})
async def money_flows(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    source: str = Query(..., min_length=1, max_length=200, description="Id of an account or wallet, or of a "
                                                                       "person, company or network (its accounts)"),
    target: str = Query(..., min_length=1, max_length=200, description="Id of the other end, of the same kinds"),
    max_hops: int = Query(4, ge=1, le=f.MAX_HOPS, description="Most transfers in a chain"),
    min_amount: float = Query(0.0, ge=0, le=1e15, description="Only chains through which at least this much (EUR) "
                                                              "can have flowed"),
    limit: int = Query(50, ge=1, le=500, description="Most chains returned"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """The chains of transfers you see in full from `source` to `target`, largest amount first.

    A chain a0 → a1 → … → ak goes from an account of the source to one of the target, no account
    twice and none of either side in between. Hop i counts the transfers from a(i-1) to a(i) in the
    window made **at or after the first transfer of hop i-1** (hop 1: from `since`): money cannot
    be passed on before it came in. A hop's amount is the sum of its transfers; the chain's
    `amount_eur` is the smallest hop amount — at most that much can have flowed along it. A person
    or company stands for the accounts it holds and the wallets it uses (links you may know exist).

    The search is bounded: `max_hops`, a walk budget per hop level (policy `money.flow_walk_budget`;
    past it, `truncated`) and `limit`. Accounts that cannot reach the target in the hops left are
    never expanded. Chains through another agency's restricted transfers are not shown: those
    transfers count in `withheld`, with whom to contact."""
    found = await f.money_flows(db, viewer_params(principal), policy.money, source, target, win or Window(),
                                max_hops, min_amount, limit)
    shape = _Shape(found, policy)
    items = [shape.chain(c) for c in found["items"]]
    await audit_read(request, principal, "analytics.money_flows",
                     [source, target, *(a for c in found["items"] for a in c["accounts"])], len(items), purpose)
    return JSONResponse({"source": node_out(found["source"], policy), "target": node_out(found["target"], policy),
                         "items": items, "total": found["total"],
                         "truncated": found["truncated"] or found["total"] > len(items),
                         "walk_budget": found["walk_budget"], "withheld": shape.withheld(found["withheld"])})


@router.get("/laundering-indicators", responses={200: {"model": Indicators}, **ERRORS})
async def laundering_indicators(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    network: str | None = Query(None, min_length=1, max_length=200, description="Id of a network: the accounts of "
                                                                               "its members and their companies"),
    entity: str | None = Query(None, min_length=1, max_length=200, description="Id of a person, company, network, "
                                                                              "account or wallet"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """The accounts around a network (its members', the network's own, and those of the companies
    they own or control) or an entity that raise laundering indicators, each computed in the
    database over the transfers you see in full in the window, with the policy's thresholds
    (`money` section):

    - `round_trip`: money back to the account within `round_trip_max_hops` hops, each hop at or
      after the previous hop's first transfer (the chains, as in money-flows);
    - `fan_in` / `fan_out`: at least `fan_min_counterparties` distinct payers / payees;
    - `structuring`: at least `structuring_min_count` transfers in (or out) of at least
      threshold − margin and under `structuring_threshold_eur`;
    - `pass_through`: of at least `pass_through_min_eur` come in, at least `pass_through_ratio`
      left within `pass_through_days` of money coming in.

    Companies of the scope are listed with the kinds of reasons their accounts raise. Another
    agency's restricted transfers to or from the scope's accounts count in `withheld`."""
    found = await f.laundering_indicators(db, viewer_params(principal), policy.money, network, entity,
                                          win or Window())
    shape = _Shape(found, policy)
    accounts = [{"account": shape.node(a["account"]), "holders": [shape.node(h) for h in a["holders"]],
                 "reasons": [{**r, "chains": [shape.chain(c) for c in r["chains"]]} if "chains" in r else r
                             for r in a["reasons"]]} for a in found["accounts"]]
    companies = [{**c, "company": shape.node(c["company"])} for c in found["companies"]]
    await audit_read(request, principal, "analytics.laundering_indicators",
                     [network or entity, *(a["account"] for a in found["accounts"])], len(accounts), purpose)
    return JSONResponse({"scope": node_out(found["scope"], policy), "accounts": accounts, "companies": companies,
                         "scope_accounts": found["scope_accounts"], "truncated": found["truncated"],
                         "withheld": shape.withheld(found["withheld"])})
