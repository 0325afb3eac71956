"""GET /v1/me: who the bearer token says the caller is, and what the access policy lets it do.

The web UI shows it in its header and hides what the caller may not do (the priority target
workflow buttons, for instance); the API still checks every call on its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.access.policy import PERMISSIONS, Policy
from service.api.deps import get_policy
from service.api.openapi import errors

router = APIRouter(prefix="/v1", tags=["me"])


class Me(BaseModel):
    sub: str = Field(description="The token's subject")
    agency: str
    agency_name: str = Field(description="The agency's name in the access policy")
    unit: str
    roles: list[str]
    permissions: list[str] = Field(description="What the roles give under the access policy")
    central: bool = Field(description="True for the central agency (OFAST), which sees everything")
    central_agency: str
    contact: str = Field(description="How other agencies reach the caller's agency")
    agencies: dict[str, str] = Field(description="Every agency of the access policy: code → name")


# A write-only source (`contribute` alone) reads nothing back, not even the policy's agencies.
READERS = tuple(p for p in PERMISSIONS if p != "contribute")


@router.get("/me", response_model=Me, responses=errors({403: "The token's roles give no permission"}))
async def me(principal: Principal = Depends(require(*READERS)), policy: Policy = Depends(get_policy)) -> Me:
    """The caller as its token and the access policy describe it: subject, agency, unit, roles,
    permissions, and whether its agency is the central one. Reads no data; not audited."""
    agency = policy.agencies.get(principal.agency)
    return Me(sub=principal.sub, agency=principal.agency, agency_name=agency.name if agency else principal.agency,
              unit=principal.unit, roles=list(principal.roles),
              permissions=[p for p in PERMISSIONS if principal.can(p)], central=principal.is_central,
              central_agency=policy.central_agency, contact=policy.contact(principal.agency),
              agencies={code: a.name for code, a in sorted(policy.agencies.items())})
