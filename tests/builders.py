"""What tests send to the API, built one way: batch items, pushes, caller headers, alert lists.

A keyword that names an evaluation or handling code (`reliability`, `accuracy`, `handling`,
`handling_note`) goes at the top level of an item, as the API reads it; any other keyword is a
property of the item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from service.core import ids
from service.domain.ingest.models import CODE_KEYS

# The client is the app's TestClient or an httpx.Client on a live service (TestClient is one).
Auth = Callable[..., dict[str, str]]  # the `auth` fixture: headers for a caller
Item = dict[str, Any]
End = tuple[str, str]  # (type, ref) of a link end, as a partner names it


def _item(body: Item, sharing: str | None, fields: dict[str, Any]) -> Item:
    if sharing is not None:  # None: the policy's default sharing applies
        body["sharing"] = sharing
    props = {k: v for k, v in fields.items() if k not in CODE_KEYS}
    if props:
        body["properties"] = props
    return body | {k: v for k, v in fields.items() if k in CODE_KEYS}


def ent(type_: str, ref: str, sharing: str | None = "restricted", **fields: Any) -> Item:
    """An entity of a batch: `ent("Network", "N-1", "open", name="Réseau du Port")`."""
    return _item({"type": type_, "ref": ref}, sharing, fields)


def person(ref: str, sharing: str | None = "restricted", **fields: Any) -> Item:
    return ent("Person", ref, sharing, **fields)


def link(type_: str, src: End, dst: End, sharing: str | None = "restricted", **fields: Any) -> Item:
    """A link of a batch between two ends named by (type, ref)."""
    return _item({"type": type_, "from": {"type": src[0], "ref": src[1]}, "to": {"type": dst[0], "ref": dst[1]}},
                 sharing, fields)


def uses(person_ref: str, phone: str, sharing: str | None = "restricted", **fields: Any) -> Item:
    """Person `person_ref` USES the phone written `phone`."""
    return link("USES", ("Person", person_ref), ("Phone", phone), sharing, **fields)


def eid(agency: str, type_: str, ref: str) -> str:
    return ids.entity_id(agency, type_, ref)


def post_batch(client: httpx.Client, headers: dict[str, str], body: Any) -> httpx.Response:
    """POST a raw ingest body, accepted or not: for the tests of what ingest refuses."""
    return client.post("/v1/ingest", json=body, headers=headers)


def push(client: httpx.Client, headers: dict[str, str], entities: list[Item],
         links: list[Item] | None = None) -> dict[str, Any]:
    """POST one batch; it must be accepted. Returns the ingest report."""
    r = post_batch(client, headers, {"entities": entities, "links": links or []})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ingest_as(client: httpx.Client, auth: Auth, agency: str, entities: list[Item],
              links: list[Item] | None = None, unit: str = "") -> dict[str, Any]:
    """Push one batch as an investigator of `agency`; the push must succeed."""
    return push(client, auth(agency, "investigator", unit=unit), entities, links)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def alerts_of(client: httpx.Client, headers: dict[str, str], kind: str) -> list[dict[str, Any]]:
    """The caller's alerts of one kind."""
    r = client.get("/v1/alerts", headers=headers)
    assert r.status_code == 200, r.text
    return [a for a in r.json()["items"] if a["kind"] == kind]
