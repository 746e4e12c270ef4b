"""The absolute consumption ceiling (issue 9, case 4: "a 70x read is billed"): 493 HCF in a month on a
5/8" residential meter (about 7 HCF is normal) passed VEE and was billed $1,820. Without enough history
for the high-use rule, a reading over the meter's maximum continuous flow rating x the hours since the
previous valid reading, or over the class's daily ceiling x the days (data/consumption_ceilings.json),
is held, and billing_determinants reports the account held."""
from decimal import Decimal

import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import wait_for

OPENED = "accounts.account_opened.v1"
INTERVAL_READS = "metering.ami_interval_reads.v1"
FEBRUARY_1 = "2026-02-01T00:00:00-08:00"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def residential_account_with_a_new_meter(running_services, rpc, publish, serial="M-1", account_id="A1"):
    running_services("metering")
    rpc.metering.set_business_date("2026-02-02")
    publish(OPENED, dict(get(OPENED).examples()[0], account_id=account_id, connection_id=f"SC-{account_id}",
                         customer_class="residential", opened_on="2026-01-01"), producer_name="accounts")
    wait_for(lambda: rows("select 1 from service_accounts where account_id = :a", a=account_id),
             message="account known")
    rpc.metering.register_meter({"serial": serial, "size": "5/8"})
    rpc.metering.install_meter({"serial": serial, "connection_id": f"SC-{account_id}", "installed_on": "2026-01-01",
                                "initial_read": "0"})


def january(rpc, account_id="A1"):
    return rpc.metering.billing_determinants({"period_start": "2026-01-01", "period_end": "2026-01-31",
                                              "account_ids": [account_id], "estimate_missing_reads": True})


def test_a_70x_manual_read_with_no_history_is_held_with_the_ceilings_and_the_account_held_from_billing(
        running_services, rpc, publish):
    residential_account_with_a_new_meter(running_services, rpc, publish)

    entered = rpc.metering.enter_manual_read({"meter_serial": "M-1", "read_at": FEBRUARY_1, "value": "493",
                                              "reader": "rvaldez", "reason": "route"})

    assert (entered["quality"], [f["rule"] for f in entered["findings"]]) == ("suspect", ["consumption_ceiling"])
    [(reason, details)] = rows("select reason, details from read_exceptions where rule = 'consumption_ceiling'")
    # 31 days: 5 HCF/day x 31 = 155 HCF for a residence; a 5/8" meter at 10 gpm for 744 h would pass 596.75 HCF.
    assert "493.00 HCF" in reason and "residential ceiling of 155.00 HCF" in reason and "596.75 HCF" in reason
    assert (details["over"], details["class_limit_hcf"], details["meter_limit_hcf"]) == (
        ["class_ceiling"], "155.00", "596.75")
    result = january(rpc)
    assert result["determinants"] == []
    [held] = result["held"]
    assert (held["account_id"], held["reason"]) == ("A1", "1 unresolved read exception(s) in the period: "
                                                           "consumption_ceiling")


def test_an_ordinary_month_on_a_new_meter_is_billed(running_services, rpc, publish):
    residential_account_with_a_new_meter(running_services, rpc, publish)
    rpc.metering.enter_manual_read({"meter_serial": "M-1", "read_at": FEBRUARY_1, "value": "7",
                                    "reader": "rvaldez", "reason": "route"})
    [determinant] = january(rpc)["determinants"]
    assert determinant["consumption"] == "7"


def test_a_70x_head_end_read_after_the_install_read_is_held_too(running_services, rpc, publish):
    residential_account_with_a_new_meter(running_services, rpc, publish)
    publish(INTERVAL_READS, {"batch_id": "B-1", "head_end": "sensus", "blocks": [{
        "meter_serial": "M-1", "interval_start": FEBRUARY_1, "interval_seconds": 86400, "values": ["493.00"]}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = 'B-1'"), message="batch stored")

    assert rows("select rule, value from read_exceptions") == [("consumption_ceiling", Decimal("493.00"))]
    assert rows("select validated_value, quality from register_reads where source = 'ami'") == [(None, "suspect")]
    assert [h["account_id"] for h in january(rpc)["held"]] == ["A1"]
