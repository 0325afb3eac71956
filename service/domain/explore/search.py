"""What the full-text search asks the index: the caller's words as a Lucene query (GET /v1/search).

The index (`graph_schema` migrations) uses the `standard-folding` analyzer: lower-case, accents
stripped, Lucene's English stop words dropped. The words are folded and filtered the same way
here, so that what is required can match, and every Lucene special character is escaped, so a
caller cannot inject query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from graph_schema import get_schema
from graph_schema.normalise import IdentifierError, normalise
from service.core import ids
from service.core.errors import ApiError

MAX_TERMS = 12
MAX_FUZZY = 40
# Lucene query-syntax characters; escaped even though tokenising already drops most of them.
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')
_TERM = re.compile(r"\w+", re.UNICODE)
# The stop words of the index's analyzer (`standard-folding`: Lucene's English set).
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this",
    "to", "was", "will", "with",
})


def fold(text: str) -> str:
    """Lower-case and strip accents, as the index's `standard-folding` analyzer does."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def search_terms(text: str) -> list[str]:
    """The words the index holds for `text` (folded, stop words out), once each, in order: what a
    query requires, and what a search watch compares with a new entity's names."""
    return [t for t in dict.fromkeys(_TERM.findall(fold(text))) if t not in STOP_WORDS]


def lucene_query(q: str) -> str:
    """A Lucene query: every word must match, exactly (boosted) or within an edit distance.

    Words of 1-2 characters match exactly, 3-7 within one edit, longer ones within two
    ("Karin" finds "Karim", "benali" finds "Bénali"). The analyzer's stop words are dropped:
    the index holds none of them, so requiring one would match nothing. Every special character is escaped, so a
    caller cannot inject Lucene syntax.
    """
    terms = search_terms(q)[:MAX_TERMS]
    if not terms:
        raise ApiError(422, "empty_query", "the query has no word to search for (English stop words are ignored)")
    clauses = []
    for term in terms:
        t = _LUCENE_SPECIAL.sub(r"\\\1", term)
        if len(term) <= 2 or len(term) > MAX_FUZZY:  # too short to be fuzzy, or too long to be a name
            clauses.append(f"+{t}")
        else:
            edits = 1 if len(term) <= 7 else 2
            clauses.append(f"+({t}^3 OR {t}~{edits})")
    return " ".join(clauses)


def identifier(type_: str, value: str, where: str | None = None) -> tuple[str, str]:
    """(normalised value, id) of an identifier as a caller writes it, normalised as ingest does
    (`graph_schema.normalise`: E.164 phones, compact IBANs…), so it names the node ingest merges.
    A type that is no identifier or a malformed value is the caller's mistake: 422, naming the
    field (`<where>type`, `<where>value`) when `where` is given."""
    schema = get_schema()
    node = schema.nodes.get(type_)

    def details(name: str) -> dict[str, Any] | None:
        return {"field": f"{where}{name}"} if where is not None else None

    if node is None or not node.is_identifier:
        raise ApiError(422, "not_an_identifier_type", f"{type_!r} is not an identifier type; one of: "
                       f"{', '.join(schema.identifier_types)}", details("type"))
    try:
        normalised = normalise(node.normaliser or "", value)
    except IdentifierError as exc:
        raise ApiError(422, "invalid_identifier", f"not a valid {type_}: {exc}", details("value")) from None
    return normalised, ids.identifier_id(type_, normalised)
