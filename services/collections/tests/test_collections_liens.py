"""Liens (Gov. Code 54984.9) and the tax-roll delinquent list (H&S 5473-5473.11) by parcel."""
from datetime import date
from decimal import Decimal

import pytest

from cis_collections.domain.liens import Charge, Lien, delinquent_list, lien_amounts
from cis_runtime.errors import Conflict, InvalidInput


def d(text):
    return date.fromisoformat(text)


CHARGES = [
    Charge("011-222-333", "Ana Reyes", "A1", "B1", d("2026-03-23"), Decimal("64.55")),
    Charge("011-222-333", "Ana Reyes", "A2", "B2", d("2026-04-23"), Decimal("40.00")),  # a second account, same parcel
    Charge("011-222-444", "Luis Ortega", "A3", "B3", d("2026-04-23"), Decimal("12.10")),
    Charge("011-222-555", "Mei Chen", "A4", "B4", d("2026-06-15"), Decimal("99.00")),  # not 60 days by 1 July
    Charge("011-222-666", "Paid Up", "A5", "B5", d("2026-03-23"), Decimal("0.00")),
]


def the_list(**kwargs):
    return delinquent_list(CHARGES, 2026, d("2026-07-01"), 60, **kwargs)


def test_gov_54984_9_lien_certificate_names_amount_owner_and_apn_per_parcel():
    amounts = lien_amounts(CHARGES, d("2026-07-01"), 60)
    assert amounts == {"011-222-333": ("Ana Reyes", Decimal("104.55")),
                       "011-222-444": ("Luis Ortega", Decimal("12.10"))}
    lien = Lien("L1", "011-222-333", "Ana Reyes", Decimal("104.55"), d("2026-07-02"))
    certificate = lien.certificate()
    assert (certificate["apn"], certificate["owner_of_record"], certificate["amount"]) == (
        "011-222-333", "Ana Reyes", Decimal("104.55"))
    assert certificate["rule"].citation == "Gov. Code 54984.9"


def test_gov_54984_9_lien_released_within_30_days_of_full_payment():
    lien = Lien("L1", "011-222-333", "Ana Reyes", Decimal("104.55"), d("2026-07-02"), paid_in_full_on=d("2026-08-03"))
    assert lien.release_by() == d("2026-09-02")
    assert not lien.release_overdue(d("2026-09-02"))
    assert lien.release_overdue(d("2026-09-03"))
    lien.released_on = d("2026-08-10")
    assert not lien.release_overdue(d("2026-12-31"))


def test_hsc_5473_delinquent_list_groups_charges_by_apn_with_owner_of_record():
    listed = the_list()
    assert {apn: (i.owner_of_record, i.amount, i.bill_ids) for apn, i in listed.items.items()} == {
        "011-222-333": ("Ana Reyes", Decimal("104.55"), ("B1", "B2")),
        "011-222-444": ("Luis Ortega", Decimal("12.10"), ("B3",))}


def test_hsc_5473_1_hearing_notice_mailed_10_days_and_published_twice_before_the_hearing():
    listed = the_list()
    with pytest.raises(InvalidInput) as error:
        listed.give_notice(d("2026-07-10"), (d("2026-07-08"), d("2026-07-10")), d("2026-07-15"))
    assert set(error.value.field_errors) == {"mailed_on", "published_on"}
    listed.give_notice(d("2026-07-01"), (d("2026-07-01"), d("2026-07-08")), d("2026-07-21"))
    assert listed.status == "noticed"


def test_hsc_5473_2_protests_logged_board_adjusts_paid_items_removed_and_auditor_file_by_10_august():
    listed = the_list(bona_fide_purchaser_apns=frozenset({"011-222-444"}))
    listed.give_notice(d("2026-07-01"), (d("2026-07-01"), d("2026-07-08")), d("2026-07-21"))
    listed.log_protest("011-222-333", "Leak repaired in March; asks for an adjustment")
    with pytest.raises(Conflict):
        listed.auditor_file(d("2026-08-01"))  # not before the hearing
    listed.hold_hearing(d("2026-07-21"), {"011-222-333": Decimal("80.00")})
    assert listed.items["011-222-333"].protests == ["Leak repaired in March; asks for an adjustment"]
    with pytest.raises(InvalidInput, match="5473.4"):
        listed.auditor_file(d("2026-08-11"))
    lines = listed.auditor_file(d("2026-08-07"))
    assert lines == [
        {"apn": "011-222-333", "owner_of_record": "Ana Reyes", "amount": Decimal("80.00"), "roll": "secured",
         "tax_year": 2026},
        {"apn": "011-222-444", "owner_of_record": "Luis Ortega", "amount": Decimal("12.10"), "roll": "unsecured",
         "tax_year": 2026}]
    with pytest.raises(Conflict):
        listed.remove_paid("011-222-333")


def test_hsc_5473_an_item_paid_before_filing_leaves_the_list():
    listed = the_list()
    listed.give_notice(d("2026-07-01"), (d("2026-07-01"), d("2026-07-08")), d("2026-07-21"))
    listed.hold_hearing(d("2026-07-21"), {})
    listed.remove_paid("011-222-444")
    with pytest.raises(InvalidInput, match="not on the 2026 delinquent list"):
        listed.remove_paid("999-999-999")
    assert [line["apn"] for line in listed.auditor_file(d("2026-08-10"))] == ["011-222-333"]
