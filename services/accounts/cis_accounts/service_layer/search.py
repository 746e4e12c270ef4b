"""Staff search over accounts (issue 11): one SQL statement, every branch answered by a trigram index of
migration 0004 (the expressions here are those indexes' expressions, verbatim). Results are ordered by how
the account matched (domain.search.MATCH_ORDER), then by account id, and paged by offset; one row more than
asked tells whether there is a next page."""
import sqlalchemy as sa

from cis_accounts.domain.search import MATCH_ORDER, search_patterns

_DIGIT_BRANCHES = """
  union all
  select a.account_id, 'apn' from connections c join accounts a on a.connection_id = c.connection_id
   where replace(c.apn, '-', '') like :digits
  union all
  select a.account_id, 'phone' from customers cu join accounts a on a.customer_id = cu.customer_id
   where regexp_replace(cu.phone, '[^0-9]', '', 'g') like :digits"""

_SEARCH = """
with matches(account_id, matched) as (
  select account_id, 'account_id' from accounts where account_id like :account_id
  union all
  select a.account_id, 'name' from customers cu join accounts a on a.customer_id = cu.customer_id
   where lower(cu.name) like :text
  union all
  select a.account_id, 'email' from customers cu join accounts a on a.customer_id = cu.customer_id
   where lower(cu.email) like :text
  union all
  select a.account_id, 'mailing_address' from customers cu join accounts a on a.customer_id = cu.customer_id
   where lower(cu.mailing_address ->> 'line1') like :text
  union all
  select a.account_id, 'service_address'
    from parcels p join connections c on c.apn = p.apn join accounts a on a.connection_id = c.connection_id
   where lower(p.situs_address ->> 'line1') like :text{digit_branches}
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


def search_accounts(uow, request: dict) -> dict:
    patterns = search_patterns(request["query"])
    sql = _SEARCH.format(digit_branches=_DIGIT_BRANCHES if patterns.digits else "")
    parameters = {"account_id": patterns.account_id, "text": patterns.text, "match_order": list(MATCH_ORDER),
                  "limit": request["limit"] + 1, "offset": request["offset"]}
    if patterns.digits:
        parameters["digits"] = patterns.digits
    rows = [dict(row._mapping) for row in uow.session.execute(sa.text(sql), parameters)]
    return {"query": request["query"], "offset": request["offset"], "limit": request["limit"],
            "has_more": len(rows) > request["limit"], "results": rows[:request["limit"]]}
