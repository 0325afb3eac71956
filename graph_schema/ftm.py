"""The FollowTheMoney (FtM) correspondence of the schema, declared once for the import
(`importers.ftm`) and the export (`service.domain.explore.exports`).

For each of our types: the FtM schema it is, the properties that mean the same on both sides,
and, for an identifier, the FtM properties that may hold its value (preferred first). For each
relationship FtM has an interval schema for: that schema, the FtM properties naming its two
ends, and the properties that mean the same. What only one direction does — splitting a full
name, reading a `crime` topic as a Network, converting units, summaries — stays in that direction's
code. Every name here is checked against FtM's model by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FtmNode:
    schema: str  # the FtM schema
    properties: Mapping[str, str] = field(default_factory=dict)  # our property -> FtM property
    value: tuple[str, ...] = ()  # an identifier's value: the FtM properties that may hold it


@dataclass(frozen=True)
class FtmLink:
    schema: str  # the FtM interval schema
    source: str  # the FtM property naming our source end
    target: str  # ... and our target end
    properties: Mapping[str, str] = field(default_factory=dict)  # our property -> FtM property
    percent: Mapping[str, str] = field(default_factory=dict)  # our fraction (0..1) -> FtM percentage (0..100)


NODES: dict[str, FtmNode] = {
    "Person": FtmNode("Person", {"first_name": "firstName", "last_name": "lastName", "aliases": "alias",
                                 "birth_date": "birthDate", "nationality": "nationality"}),
    "Company": FtmNode("Company", {"name": "name", "registration_number": "registrationNumber",
                                   "country": "jurisdiction"}),
    "Network": FtmNode("Organization", {"name": "name"}),
    "Case": FtmNode("CourtCase", {"reference": "caseNumber", "opened_at": "fileDate", "status": "status",
                                  "jurisdiction": "court"}),
    "Seizure": FtmNode("Event", {"date": "date", "place": "address"}),
    "Asset": FtmNode("Asset", {"label": "name", "value_eur": "amountEur"}),
    "Location": FtmNode("Address", {"label": "full", "lat": "latitude", "lon": "longitude"}),
    "Phone": FtmNode("UserAccount", value=("phone",)),
    "Email": FtmNode("UserAccount", value=("email",)),
    "BankAccount": FtmNode("BankAccount", value=("iban", "accountNumber")),
    "Vehicle": FtmNode("Vehicle", {"kind": "type"}, value=("registrationNumber", "imoNumber")),
    "CryptoWallet": FtmNode("CryptoWallet", value=("publicKey",)),
}

LINKS: dict[str, FtmLink] = {
    "MEMBER_OF": FtmLink("Membership", "member", "organization", {"role": "role"}),
    "OWNS": FtmLink("Ownership", "owner", "asset", {"since": "startDate", "until": "endDate"},
                    percent={"share": "percentage"}),
    "HOLDS": FtmLink("Ownership", "owner", "asset"),  # a bank account's holder: no share
    "CONTROLS": FtmLink("Directorship", "director", "organization",
                        {"role": "role", "since": "startDate", "until": "endDate"}),
    "ASSOCIATE_OF": FtmLink("Associate", "person", "associate", {"nature": "relationship"}),
    "TRANSFERRED": FtmLink("Payment", "payerAccount", "beneficiaryAccount",
                           {"amount_eur": "amountEur", "date": "date"}),
}

# Any other relationship, or one whose ends FtM cannot type as its interval schema requires.
UNKNOWN_LINK = FtmLink("UnknownLink", "subject", "object")
