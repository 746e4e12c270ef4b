"""Staff search over accounts (issue 11): one SQL statement, every branch answered by a trigram index of
migration 0004 (the expressions here are those indexes' expressions, verbatim). Results are ordered by how
the account matched (domain.search.MATCH_ORDER), then by account id, and paged by offset; one row more than
asked tells whether there is a next page."""
import sqlalchemy as sa

from cis_accounts.domain.search import MATCH_ORDER, search_patterns

# Each branch keeps only its first :depth accounts (offset + limit + 1) by account id: exact, because an
# account shown at position k of the page order (priority, then account id) is among the first k + 1 of its
# own branch; and it keeps a broad query ("garcia", "ma") from joining and sorting thousands of rows.
_BRANCH = "(select a.account_id, '{matched}' as matched from {source} where {condition}\n" \
          "   order by a.account_id limit :depth)"
_CUSTOMER = "customers cu join accounts a on a.customer_id = cu.customer_id"
_CONNECTION = "connections c join accounts a on a.connection_id = c.connection_id"
_PARCEL = "parcels p join connections c on c.apn = p.apn join accounts a on a.connection_id = c.connection_id"
_TEXT_BRANCHES = [
    ("account_id", "accounts a", "a.account_id like :account_id"),
    ("name", _CUSTOMER, "lower(cu.name) like :text"),
    ("email", _CUSTOMER, "lower(cu.email) like :text"),
    ("mailing_address", _CUSTOMER, "lower(cu.mailing_address ->> 'line1') like :text"),
    ("service_address", _PARCEL, "lower(p.situs_address ->> 'line1') like :text"),
]
_DIGIT_BRANCHES = [
    ("apn", _CONNECTION, "replace(c.apn, '-', '') like :digits"),
    ("phone", _CUSTOMER, "regexp_replace(cu.phone, '[^0-9]', '', 'g') like :digits"),
]

_SEARCH = """
with matches(account_id, matched) as (
  {branches}
), best as (
  select distinct on (account_id) account_id, matched, array_position(:match_order, matched) as priority
    from matches order by account_id, array_position(:match_order, matched)
)
select a.account_id, a.status, cu.name as customer_name, cu.customer_id, p.apn, p.situs_address as service_address,
       best.matched
  from best join accounts a using (account_id)
  join customers cu on cu.customer_id = a.customer_id
  join connections c on c.connection_id = a.connection_id
  join parcels p on p.apn = c.apn
 order by best.priority, a.account_id
 limit :limit offset :offset
"""


def search_sql(with_digits: bool) -> str:
    branches = _TEXT_BRANCHES + (_DIGIT_BRANCHES if with_digits else [])
    return _SEARCH.format(branches="\n  union all\n  ".join(
        _BRANCH.format(matched=matched, source=source, condition=condition) for matched, source, condition in branches))


def search_parameters(patterns, limit: int, offset: int) -> dict:
    parameters = {"account_id": patterns.account_id, "text": patterns.text, "match_order": list(MATCH_ORDER),
                  "limit": limit + 1, "offset": offset, "depth": offset + limit + 1}
    if patterns.digits:
        parameters["digits"] = patterns.digits
    return parameters


def search_accounts(uow, request: dict) -> dict:
    patterns = search_patterns(request["query"])
    rows = [dict(row._mapping) for row in uow.session.execute(
        sa.text(search_sql(patterns.digits is not None)),
        search_parameters(patterns, request["limit"], request["offset"]))]
    return {"query": request["query"], "offset": request["offset"], "limit": request["limit"],
            "has_more": len(rows) > request["limit"], "results": rows[:request["limit"]]}
