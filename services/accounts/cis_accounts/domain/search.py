"""What a staff search query can match, as LIKE patterns per field. Plain Python: no SQL here.

Text fields (name, email, addresses) match anywhere in the field from 3 characters on, by prefix below that
(a 2-character infix is no index's business). Digit fields (APN without its dashes, phone without its
punctuation) match when the query is digits once spaces, dashes, dots and parentheses are taken out. The
account id matches by prefix, case-insensitively ("a00012" finds A0000123).
"""
import re
from dataclasses import dataclass

# Priority of a match when one account matches several ways: the most specific field is shown.
MATCH_ORDER = ("account_id", "apn", "phone", "name", "email", "service_address", "mailing_address")
_DIGIT_PUNCTUATION = re.compile(r"[\s\-.()+/]")
SHORTEST_INFIX = 3


@dataclass(frozen=True)
class SearchPatterns:
    account_id: str
    text: str  # lower case
    digits: str | None  # None: the query is not a number, skip APN and phone


def like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_patterns(query: str) -> SearchPatterns:
    query = " ".join(query.split())
    text = like_escaped(query.lower())
    digits = _DIGIT_PUNCTUATION.sub("", query)
    return SearchPatterns(
        account_id=like_escaped(query.upper()) + "%",
        text=f"%{text}%" if len(query) >= SHORTEST_INFIX else f"{text}%",
        digits=f"%{digits}%" if digits.isdigit() and len(digits) >= 2 else None,
    )
