"""What the full-text search asks the index: the caller's words as a Lucene query (GET /v1/search).

The index (`graph_schema` migrations) uses the `standard-folding` analyzer: lower-case, accents
stripped, Lucene's English stop words dropped. The words are folded and filtered the same way
here, so that what is required can match, and every Lucene special character is escaped, so a
caller cannot inject query syntax.
"""

from __future__ import annotations

import re
import unicodedata

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


def lucene_query(q: str) -> str:
    """A Lucene query: every word must match, exactly (boosted) or within an edit distance.

    Words of 1-2 characters match exactly, 3-7 within one edit, longer ones within two
    ("Karin" finds "Karim", "benali" finds "Bénali"). The analyzer's stop words are dropped:
    the index holds none of them, so requiring one would match nothing. Every special character is escaped, so a
    caller cannot inject Lucene syntax.
    """
    terms = [t for t in dict.fromkeys(_TERM.findall(fold(q))) if t not in STOP_WORDS][:MAX_TERMS]
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
