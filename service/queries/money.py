"""Cypher behind the money analyses: the chains of transfers between two sets of accounts (money
flows, round trips) and the laundering indicators of a set of accounts.

Transfers are `(:Event:Transfer)` nodes naming payer and payee by id (`from_id`, `to_id`) with no
relationship of their own; every statement finds them by the composite range indexes on (party
id, `at`) (migration 13). The label and the party fields come from the `events` section of
`graph_schema`, the relationship types from its `relationships` (the whitelist); every value is a
parameter. `$since` / `$until` are always given (the domain fills an open window).

Visibility is the link rule of events (`event_full` / `event_known`): only transfers seen in full
make a chain or an indicator; another agency's restricted transfers are only counted, per owner
agency, in `withheld`; confidential ones of other agencies are not read at all.

A chain (`flow_search`) is a path of accounts a0 → a1 → … → ak, no account twice, from a source
account to a target account (none in between), over the transfers in the window. Hop i's
transfers are those from a(i-1) to a(i) made at or after the first transfer of hop i-1 (money
cannot leave before it came in; hop 1: from `since`); the hop's amount is their sum, its time
their first one, and the chain's amount is the smallest hop amount (the bottleneck: at most that
much can have flowed along it). The search runs hop level by hop level in one statement: a
backward pass first keeps only accounts that can reach a target in the hops left (a hub account
that leads nowhere is never expanded), then each forward level reads at most `$budget + 1`
transfers (past `$budget`, `truncated`), so neither a hub nor a long chain can blow it up.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import EventType, get_schema
from service.access.visibility import event_full, event_known, node_known, node_view, rel_known


def _transfer() -> EventType:
    return get_schema().events["transfer"]


def _fields() -> tuple[str, str, str]:
    """(label, payer field, payee field) of the transfer event."""
    event = _transfer()
    return event.label, event.parties["from"].stored_as, event.parties["to"].stored_as


def account_types() -> tuple[str, ...]:
    """Identifier types a transfer names (bank accounts, crypto wallets)."""
    return tuple(dict.fromkeys(t for p in _transfer().parties.values() for t in p.types))


def _holding() -> list[str]:
    """Relationship types that tie an entity to an account (HOLDS, USES)."""
    accounts = set(account_types())
    return [name for name, rel in get_schema().relationships.items()
            if any(t in accounts and get_schema().node(s).kind == "entity" for s, t in rel.pairs)]


def holder_types() -> tuple[str, ...]:
    """Entity types that hold or use an account (Person, Company, Network)."""
    accounts = set(account_types())
    rels = [get_schema().relationship(r) for r in _holding()]
    return tuple(dict.fromkeys(s for rel in rels for s, t in sorted(rel.pairs) if t in accounts))


def _accounts_of(var: str) -> str:
    """The ids of the accounts entity `var` holds or uses, by links the viewer may know exist (the
    links a neighbourhood would cross, as the events' timeline does)."""
    labels = "|".join(account_types())
    return (f"COLLECT {{ MATCH ({var})-[r:{get_schema().relationship_pattern(_holding())}]->(x:{labels}) "
            f"WHERE {rel_known('r')} RETURN DISTINCT x.id }}")


# A node the analyses are about, as the caller may know it (no row: unknown -> 404), with its
# accounts: itself for an account or wallet, those it holds or uses for an entity.
SUBJECT = f"""
MATCH (n:Node {{id: $id}})
WHERE {node_known('n')}
RETURN n.type AS type, {node_view('n')} AS node,
       CASE WHEN n.type IN $account_types THEN [n.id] ELSE {_accounts_of('n')} END AS accounts
"""


def _owned_companies(holders: str) -> str:
    """Companies the entities of list `holders` own or control, by links and nodes the viewer may know."""
    rels = [name for name, rel in get_schema().relationships.items()
            if name in ("OWNS", "CONTROLS") and any(t == "Company" for _, t in rel.pairs)]
    return (f"COLLECT {{ UNWIND {holders} AS h MATCH (h)-[r:{get_schema().relationship_pattern(rels)}]->(c:Company) "
            f"WHERE {rel_known('r')} AND {node_known('c')} RETURN DISTINCT c }}")


# The scope of the laundering indicators: the network's members (MEMBER_OF, by links and persons the
# viewer may know) and the network itself when `$members`, else the entity; then the companies they
# own or control; then every account these hold or use, with its holders.
SCOPE = f"""
MATCH (n:Node {{id: $id}})
WHERE {node_known('n')}
WITH n, CASE WHEN $members THEN [n] + COLLECT {{
       MATCH (m:Person)-[r:MEMBER_OF]->(n) WHERE {rel_known('r')} AND {node_known('m')} RETURN DISTINCT m
     }} ELSE [n] END AS holders
WITH n, holders, CASE WHEN n.type IN $account_types THEN [] ELSE {_owned_companies('holders')} END AS companies
WITH n, companies, holders + [c IN companies WHERE NOT c IN holders] AS everyone
CALL (n, everyone) {{
  UNWIND CASE WHEN n.type IN $account_types THEN [] ELSE everyone END AS h
  UNWIND {_accounts_of('h')} AS a
  WITH a, collect(DISTINCT h.id) AS holders
  RETURN collect({{account: a, holders: holders}}) AS accounts
}}
RETURN n.type AS type, {node_view('n')} AS node, [c IN companies | c.id] AS companies,
       CASE WHEN n.type IN $account_types THEN [{{account: n.id, holders: []}}] ELSE accounts END AS accounts
"""

# The nodes an answer names, each as the caller may see it; ids it may not know give no row.
NODES = f"""
MATCH (x:Node) WHERE x.id IN $ids AND {node_known('x')}
RETURN x.id AS id, {node_view('x')} AS node
"""


def _window(var: str) -> str:
    return f"{var}.at >= $since AND {var}.at <= $until"


def _near(layer: int, label: str, payer: str, payee: str) -> str:
    """Backward level `layer`: `near<layer>`, the accounts that can reach a target in at most
    `layer` hops (time order aside: a superset, only used to prune), or null when the level read
    more than `$budget` transfers: then nothing is pruned at that depth, which loses no chain (only
    the forward levels' cuts make an answer `truncated`)."""
    prev, out = f"near{layer - 1}", f"near{layer}"
    layer_in = "targets" if layer == 1 else f"layer{layer - 1}"
    imports = "targets" if layer == 1 else f"{layer_in}, targets"
    return f"""CALL ({imports}) {{
  UNWIND {layer_in} AS t
  MATCH (e:{label}) WHERE e.{payee} = t AND {_window('e')} AND e.{payer} <> e.{payee} AND {event_known('e')}
  WITH e.{payer} AS a LIMIT $budget_plus
  WITH collect(a) AS raw
  RETURN size(raw) > $budget AS cut{layer},
         COLLECT {{ UNWIND raw AS x WITH DISTINCT x WHERE NOT x IN targets RETURN x }} AS found{layer}
}}
WITH *, CASE WHEN cut{layer} OR {prev if layer > 1 else '[]'} IS NULL THEN null
             ELSE {prev if layer > 1 else '[]'} + [x IN found{layer} WHERE NOT x IN {prev if layer > 1 else '[]'}] END
        AS {out},
     [x IN found{layer} WHERE NOT x IN {prev if layer > 1 else '[]'}] AS layer{layer}"""


def _forward(level: int, max_hops: int, label: str, payer: str, payee: str, nears: str) -> str:
    """Forward level `level`: every chain prefix of `frontier` extended by one hop; the chains that
    reach a target join `done`, the others make the next frontier. A prefix keeps `visible` while
    each of its hops has a transfer seen in full; then its amounts, times and floor come from those
    alone, so what a shown chain says never depends on a transfer the caller may not see. A hop
    made only of withheld transfers makes the chain withheld: counted, never shown."""
    left = max_hops - level
    onward = f"(near{left} IS NULL OR e.{payee} IN near{left})" if left > 0 else "false"
    imports = "frontier, sources, targets" + (f", near{left}" if left > 0 else "")
    return f"""CALL ({imports}) {{
  UNWIND range(0, size(frontier) - 1) AS k
  WITH k, frontier[k] AS p
  CALL (p, sources, targets{f', near{left}' if left > 0 else ''}) {{
    MATCH (e:{label})
    WHERE e.{payer} = last(p.nodes) AND e.at >= p.floor AND e.at <= $until AND e.{payee} <> e.{payer}
      AND (e.{payee} IN targets OR (NOT e.{payee} IN sources AND NOT e.{payee} IN p.nodes AND {onward}))
      AND {event_known('e')}
    RETURN e
  }}
  WITH k, e LIMIT $budget_plus
  WITH k, e, {event_full('e')} AS full
  WITH k, e.{payee} AS next, count(*) AS read, count(CASE WHEN full THEN 1 END) AS n,
       sum(CASE WHEN full THEN e.amount_eur ELSE 0.0 END) AS amount,
       min(CASE WHEN full THEN e.at END) AS first, max(CASE WHEN full THEN e.at END) AS last,
       min(e.at) AS first_known, collect(CASE WHEN NOT full THEN {{id: e.id, owner_agency: e.owner_agency}} END)
       AS hidden
  WITH frontier[k] AS p, next, read, n, amount, first, last, first_known, hidden
  WITH p, next, read, p.visible AND n > 0 AS visible,
       CASE WHEN n = 0 THEN p.amount WHEN p.amount IS NULL OR amount < p.amount THEN amount ELSE p.amount END
       AS bottleneck,
       {{from: last(p.nodes), to: next, transfers: n, amount_eur: amount, first: first, last: last}} AS hop,
       first, first_known, hidden
  WITH next, read, {{nodes: p.nodes + next, floor: CASE WHEN visible THEN first ELSE first_known END,
                     visible: visible, amount: bottleneck, hops: p.hops + hop, hidden: p.hidden + hidden}} AS q
  WITH next, read, q, coalesce(q.amount, $min_amount) >= $min_amount AS kept
  RETURN sum(read) AS read{level},
         collect(CASE WHEN kept AND next IN targets THEN q END) AS reached{level},
         collect(CASE WHEN kept AND NOT next IN targets THEN q END) AS onward{level}
}}
WITH {nears}onward{level} AS frontier, done + reached{level} AS done, truncated OR read{level} > $budget AS truncated"""


@lru_cache
def _search(max_hops: int) -> str:
    """The chain search with `sources` and `targets` (lists of account ids) in scope; leaves `done`
    (every chain found, visible or withheld) and `truncated` in scope."""
    label, payer, payee = _fields()
    parts = ["WITH sources, targets, targets AS layer0, [] AS near0"]
    parts += [_near(k, label, payer, payee) for k in range(1, max_hops)]
    parts.append("WITH sources, targets, " + "".join(f"near{k}, " for k in range(1, max_hops))
                 + "[s IN sources | {nodes: [s], floor: $since, visible: true, amount: null, hops: [], hidden: []}] "
                   "AS frontier, [] AS done, false AS truncated")
    # Each forward level re-binds frontier, done and truncated, keeping only what the next ones read.
    nears = "sources, targets, " + "".join(f"near{k}, " for k in range(1, max_hops))
    parts += [_forward(level, max_hops, label, payer, payee, nears) for level in range(1, max_hops + 1)]
    return "\n".join(parts)


def _chain_out(var: str) -> str:
    return f"{{accounts: {var}.nodes, amount_eur: {var}.amount, hops: {var}.hops}}"


@lru_cache
def money_flows(max_hops: int) -> str:
    """The chains seen in full from `$sources` to `$targets`, largest amount first (at most `$limit`),
    how many there are, whether the search was cut, and the withheld transfers on the other chains
    found (distinct transfers, per owner agency)."""
    return f"""
WITH $sources AS sources, $targets AS targets
{_search(max_hops)}
CALL (done) {{
  UNWIND done AS c
  UNWIND c.hidden AS h
  WITH DISTINCT h
  WITH h.owner_agency AS owner, count(*) AS c
  RETURN collect({{owner_agency: owner, count: c}}) AS withheld
}}
WITH [c IN done WHERE c.visible] AS chains, withheld, truncated
CALL (chains) {{
  UNWIND chains AS c
  WITH c ORDER BY c.amount DESC, size(c.hops), c.hops[0].first, c.nodes
  RETURN collect({_chain_out('c')})[..$limit] AS items
}}
RETURN items, size(chains) AS total, withheld, truncated
"""


@lru_cache
def round_trips(max_hops: int) -> str:
    """Per account of `$accounts`, the chains seen in full that bring its money back to it (2 to
    `max_hops` hops), largest first (at most `$limit` each), and whether its search was cut."""
    return f"""
UNWIND $accounts AS acc
CALL (acc) {{
  WITH [acc] AS sources, [acc] AS targets
  {_search(max_hops)}
  WITH [c IN done WHERE c.visible] AS chains, truncated
  CALL (chains) {{
    UNWIND chains AS c
    WITH c ORDER BY c.amount DESC, size(c.hops), c.hops[0].first, c.nodes
    RETURN collect({_chain_out('c')})[..$limit] AS items
  }}
  RETURN items, size(chains) AS total, truncated
}}
WITH acc, items, total, truncated WHERE total > 0 OR truncated
RETURN acc AS account, items, total, truncated
"""


def _full_in(acc: str, extra: str = "") -> str:
    label, payer, payee = _fields()
    return (f"MATCH (e:{label}) WHERE e.{payee} = {acc} AND {_window('e')} AND e.{payer} <> e.{payee} "
            f"AND {event_full('e')}{extra}")


def _full_out(acc: str, extra: str = "") -> str:
    label, payer, payee = _fields()
    return (f"MATCH (e:{label}) WHERE e.{payer} = {acc} AND {_window('e')} AND e.{payer} <> e.{payee} "
            f"AND {event_full('e')}{extra}")


@lru_cache
def fan() -> str:
    """Accounts of `$accounts` paid by at least `$fan_min` distinct payers (fan-in) or paying at
    least `$fan_min` distinct payees (fan-out), over the transfers seen in full in the window."""
    _, payer, payee = _fields()
    return f"""
UNWIND $accounts AS acc
CALL (acc) {{
  {_full_in('acc')}
  RETURN count(DISTINCT e.{payer}) AS payers, count(e) AS n_in, sum(e.amount_eur) AS amount_in,
         min(e.at) AS first_in, max(e.at) AS last_in
}}
CALL (acc) {{
  {_full_out('acc')}
  RETURN count(DISTINCT e.{payee}) AS payees, count(e) AS n_out, sum(e.amount_eur) AS amount_out,
         min(e.at) AS first_out, max(e.at) AS last_out
}}
WITH * WHERE payers >= $fan_min OR payees >= $fan_min
RETURN acc AS account, payers, n_in, amount_in, first_in, last_in, payees, n_out, amount_out, first_out, last_out
"""


@lru_cache
def structuring() -> str:
    """Per account of `$accounts` and direction, the transfers seen in full just under the
    threshold (`$low` <= amount < `$threshold`), where there are at least `$min_count`."""
    return f"""
UNWIND $accounts AS acc
CALL (acc) {{
  {_full_in('acc', ' AND e.amount_eur >= $low AND e.amount_eur < $threshold')}
  RETURN 'in' AS direction, e
  UNION
  {_full_out('acc', ' AND e.amount_eur >= $low AND e.amount_eur < $threshold')}
  RETURN 'out' AS direction, e
}}
WITH acc, direction, count(*) AS n, sum(e.amount_eur) AS total, min(e.at) AS first, max(e.at) AS last
WHERE n >= $min_count
RETURN acc AS account, direction, n AS transfers, total, first, last
ORDER BY account, direction
"""


@lru_cache
def pass_through() -> str:
    """Accounts of `$accounts` that received at least `$pass_min` (transfers seen in full in the
    window) and sent at least `$ratio` of it on within `$days` (a duration) of receiving money: the
    outgoing transfers counted are those made at most `$days` after an incoming one."""
    label, payer, payee = _fields()
    return f"""
UNWIND $accounts AS acc
CALL (acc) {{
  {_full_in('acc')}
  RETURN sum(e.amount_eur) AS amount_in, count(e) AS n_in, min(e.at) AS first_in
}}
WITH acc, amount_in, n_in, first_in WHERE n_in > 0 AND amount_in >= $pass_min
CALL (acc, first_in) {{
  {_full_out('acc', ' AND e.at >= first_in')}
    AND EXISTS {{
      MATCH (i:{label}) WHERE i.{payee} = acc AND i.at >= e.at - $days AND i.at <= e.at AND i.at >= $since
        AND i.{payer} <> i.{payee} AND {event_full('i')}
    }}
  RETURN coalesce(sum(e.amount_eur), 0.0) AS amount_out, count(e) AS n_out, max(e.at) AS last_out
}}
WITH * WHERE n_out > 0 AND amount_out >= $ratio * amount_in
RETURN acc AS account, amount_in, n_in, amount_out, n_out, first_in, last_out
"""


@lru_cache
def withheld() -> str:
    """Transfers in the window to or from an account of `$accounts` that the viewer may know exist
    but not see, counted once each per owner agency."""
    label, payer, payee = _fields()
    return f"""
UNWIND $accounts AS acc
CALL (acc) {{
  MATCH (e:{label}) WHERE e.{payer} = acc AND {_window('e')} RETURN e
  UNION
  MATCH (e:{label}) WHERE e.{payee} = acc AND {_window('e')} RETURN e
}}
WITH DISTINCT e WHERE {event_known('e')} AND NOT {event_full('e')}
RETURN e.owner_agency AS owner_agency, count(*) AS count
"""
