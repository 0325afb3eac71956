"""The access rules, each spelled once; every feature composes them (`tests/test_access_rules.py` fails
when Cypher elsewhere spells one by hand).

- `auth`: who the caller is (token → `Principal`); `policy`: agencies, roles, the central agency, codes.
- `visibility`: what a viewer sees, as Cypher fragments taking the viewer as an expression (`$viewer`,
  or `viewer_of(agency)` for another agency): `node_full` / `node_known` / `node_hit` / `rel_*`,
  the views, evaluation filters, workflow records (`agency_record`, `agency_addressee`), the grant
  list (`grantees`, `add_grantees`, `remove_grantee`) and the sharing of links the service draws.
- `ownership`: who may act on an entity (owner-only deletes and reviews, grant managers, the
  central agency's own actions).
- `handling`: what may leave the holding agency (H2, minors' records).
"""
