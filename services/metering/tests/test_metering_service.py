"""Metering through its RPC entrypoints and consumers, on real RabbitMQ and PostgreSQL."""
import json
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_contracts.envelope import make_envelope
from cis_contracts.registry import MESSAGES, get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput, NotFound
from cis_runtime.testing import dead_letters, wait_for

OPENED = "accounts.account_opened.v1"
AMI_READS = "metering.ami_register_reads.v1"
AMI_QUEUE = "metering.on_ami_register_reads"


def scalar(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.scalar(sa.text(sql), params)


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start_metering(running_services, rpc, *also):
    running_services("metering", *also)
    rpc.metering.set_business_date("2026-04-05")


def open_account(publish, account_id: str, connection_id: str):
    """What accounts publishes when it opens an account; metering learns the connection from it."""
    payload = dict(get(OPENED).examples()[0], account_id=account_id, connection_id=connection_id)
    publish(OPENED, payload, producer_name="accounts")
    wait_for(lambda: scalar("select count(*) from service_accounts where account_id = :a", a=account_id),
             message=f"account {account_id} known to metering")


def set_meter(rpc, serial, connection_id, installed_on="2026-01-15", initial_read="0", unit="HCF", size="5/8"):
    rpc.metering.register_meter({"serial": serial, "size": size, "unit": unit})
    return rpc.metering.install_meter({"serial": serial, "connection_id": connection_id,
                                       "installed_on": installed_on, "initial_read": initial_read})


def read(serial, read_at, value, unit="HCF"):
    return {"meter_serial": serial, "read_at": read_at, "value": value, "unit": unit}


def ami_batch(batch_id, *reads):
    return {"batch_id": batch_id, "head_end": "ami-headend", "reads": list(reads)}


def ami_reads_stored():
    return scalar("select count(*) from register_reads where source = 'ami'")


def batch_done(batch_id):
    return lambda: scalar("select count(*) from ami_batches where batch_id = :b", b=batch_id)


def test_a_registered_meter_is_installed_once_with_its_install_read(running_services, rpc):
    start_metering(running_services, rpc)
    meter = rpc.metering.register_meter({"serial": "M-1", "size": "3/4", "make": "Badger"})
    assert meter == {"serial": "M-1", "size": "3/4", "make": "Badger", "model": None, "register_digits": 6,
                     "unit": "HCF", "status": "in_stock"}
    installation = rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC0000001",
                                               "installed_on": "2026-01-15", "initial_read": "12.5"})
    assert installation == {"serial": "M-1", "connection_id": "SC0000001", "installed_on": "2026-01-15",
                            "initial_read": "12.5"}
    assert rows("select source, value, read_at at time zone 'America/Los_Angeles' from register_reads") == [
        ("install", Decimal("12.5"), datetime(2026, 1, 15))]
    assert rows("select connection_id, removed_on from installations") == [("SC0000001", None)]

    with pytest.raises(Conflict):
        rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    with pytest.raises(Conflict):  # already in the ground
        rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC0000009",
                                    "installed_on": "2026-02-01", "initial_read": "13"})
    rpc.metering.register_meter({"serial": "M-2", "size": "5/8"})
    with pytest.raises(Conflict):  # one meter per connection until meter exchanges exist
        rpc.metering.install_meter({"serial": "M-2", "connection_id": "SC0000001",
                                    "installed_on": "2026-02-01", "initial_read": "0"})
    with pytest.raises(NotFound):
        rpc.metering.install_meter({"serial": "NOPE", "connection_id": "SC0000002",
                                    "installed_on": "2026-02-01", "initial_read": "0"})
    with pytest.raises(InvalidInput) as error:
        rpc.metering.register_meter({"serial": "M-3", "size": "7/8", "unit": "litres"})
    assert set(error.value.args[0]) == {"size", "unit"}
    with pytest.raises(InvalidInput) as error:  # a 6-digit register cannot show a million
        rpc.metering.install_meter({"serial": "M-2", "connection_id": "SC0000002",
                                    "installed_on": "2026-02-01", "initial_read": "1000000"})
    assert "initial_read" in error.value.args[0]
    assert scalar("select count(*) from installations") == 1


def test_an_ami_batch_is_stored_once_even_when_the_head_end_publishes_it_again(running_services, rpc, publish):
    start_metering(running_services, rpc)
    set_meter(rpc, "M-1", "SC0000001")
    set_meter(rpc, "M-2", "SC0000002")
    batch = ami_batch("B-1", read("M-1", "2026-03-01T00:00:00-08:00", "10.25"),
                      read("M-1", "2026-03-01T01:00:00-08:00", "10.31"),
                      read("M-2", "2026-03-01T00:00:00-08:00", "3.5"))
    first = publish(AMI_READS, batch, producer_name="ami-headend")
    wait_for(batch_done("B-1"), message="first batch stored")
    assert ami_reads_stored() == 3

    publish(AMI_READS, envelope=first)  # the broker redelivering the same message
    publish(AMI_READS, batch, producer_name="ami-headend")  # the head-end re-sending the batch
    publish(AMI_READS, ami_batch("B-2", read("M-1", "2026-03-01T01:00:00-08:00", "10.31"),  # overlaps B-1
                                 read("M-1", "2026-03-01T02:00:00-08:00", "10.40")))
    wait_for(batch_done("B-2"), message="second batch stored")
    wait_for(lambda: scalar("select count(*) from inbox where consumer = :c", c=AMI_QUEUE) == 3,
             message="every delivery handled")
    assert ami_reads_stored() == 4
    assert rows("select batch_id, read_count, stored_count, held_count from ami_batches order by batch_id") == [
        ("B-1", 3, 3, 0), ("B-2", 2, 1, 0)]


def test_a_malformed_batch_is_dead_lettered_stores_nothing_and_the_next_batch_is_processed(
        running_services, rpc, publish):
    start_metering(running_services, rpc)
    set_meter(rpc, "M-1", "SC0000001")
    malformed = make_envelope(AMI_READS, "ami-headend", ami_batch(
        "B-BAD", read("M-1", "2026-03-01T00:00:00-08:00", "10.25"),
        read("M-1", "2026-03-01T01:00:00", "ten")))  # no zone, not a number
    publish(AMI_READS, envelope=malformed)
    publish(AMI_READS, ami_batch("B-GOOD", read("M-1", "2026-03-01T02:00:00-08:00", "10.40")))

    wait_for(batch_done("B-GOOD"), message="good batch after the bad one")
    [(headers, body)] = wait_for(lambda: dead_letters(AMI_QUEUE), message="malformed batch dead-lettered")
    assert body["message_id"] == malformed["message_id"]
    assert headers["x-cis-error"].startswith("invalid message")
    assert "read_at" in headers["x-cis-error"] and "value" in headers["x-cis-error"]
    assert scalar("select count(*) from ami_batches where batch_id = 'B-BAD'") == 0
    assert ami_reads_stored() == 1
    assert scalar("select count(*) from read_exceptions") == 0


def test_reads_of_unknown_or_uninstalled_meters_are_held_as_read_exceptions_not_dropped(
        running_services, rpc, publish):
    start_metering(running_services, rpc)
    set_meter(rpc, "M-1", "SC0000001", installed_on="2026-02-01")
    rpc.metering.register_meter({"serial": "M-STOCK", "size": "5/8"})
    publish(AMI_READS, ami_batch("B-1", read("M-1", "2026-03-01T00:00:00-08:00", "10.25"),
                                 read("GHOST-9", "2026-03-01T00:00:00-08:00", "77.7"),
                                 read("M-STOCK", "2026-03-01T00:00:00-08:00", "1.2"),
                                 read("M-1", "2026-01-20T00:00:00-08:00", "9.1")))
    wait_for(batch_done("B-1"), message="batch stored")
    assert ami_reads_stored() == 1
    assert rows("select meter_serial, value, reason, batch_id from read_exceptions order by meter_serial") == [
        ("GHOST-9", Decimal("77.7"), "unknown meter", "B-1"),
        ("M-1", Decimal("9.1"), "read before the meter was installed", "B-1"),
        ("M-STOCK", Decimal("1.2"), "meter not installed", "B-1")]
    assert rows("select stored_count, held_count from ami_batches") == [(1, 3)]


def test_consumption_is_end_read_minus_start_read_in_hcf_and_missing_reads_are_never_zero(
        running_services, rpc, publish):
    start_metering(running_services, rpc)
    for n in range(1, 8):
        open_account(publish, f"A000000{n}", f"SC000000{n}")
    set_meter(rpc, "HCF-1", "SC0000001", initial_read="100")
    set_meter(rpc, "GAL-2", "SC0000002", initial_read="0", unit="gallons", size="1")
    set_meter(rpc, "MID-3", "SC0000003", installed_on="2026-03-10", initial_read="5")
    # A0000004 has no meter; A0000099 is not an account metering knows.
    set_meter(rpc, "OLD-5", "SC0000005", initial_read="40")
    set_meter(rpc, "NEG-6", "SC0000006", initial_read="0")
    set_meter(rpc, "NEW-7", "SC0000007", installed_on="2026-04-02", initial_read="0")
    publish(AMI_READS, ami_batch(
        "B-MARCH",
        read("HCF-1", "2026-02-28T23:00:00-08:00", "120.40"),  # before the period: not the start
        read("HCF-1", "2026-03-01T00:00:00-08:00", "120.50"),  # at the start instant: the start read
        read("HCF-1", "2026-03-31T23:00:00-07:00", "134.75"),  # last read inside March (PDT)
        read("HCF-1", "2026-04-01T00:00:00-07:00", "134.80"),  # at the end instant: ends March, starts April
        read("GAL-2", "2026-02-28T12:00:00-08:00", "7480.52", unit="gallons"),
        read("GAL-2", "2026-03-31T12:00:00-07:00", "22441.56", unit="gallons"),
        read("MID-3", "2026-03-31T06:00:00-07:00", "9.5"),
        read("NEG-6", "2026-02-28T06:00:00-08:00", "50"),
        read("NEG-6", "2026-03-30T06:00:00-07:00", "20")))
    wait_for(batch_done("B-MARCH"), message="March reads stored")

    result = rpc.metering.get_consumption({
        "period_start": "2026-03-01", "period_end": "2026-03-31",
        "account_ids": ["A0000001", "A0000002", "A0000003", "A0000004", "A0000005", "A0000006", "A0000007",
                        "A0000099", "A0000001"]})

    by_account = {d["account_id"]: d for d in result["determinants"]}
    assert by_account["A0000001"] == {
        "account_id": "A0000001", "meter_serial": "HCF-1", "meter_size": "5/8",
        "start_read": "120.50", "start_read_at": "2026-03-01T00:00:00-08:00",
        "end_read": "134.80", "end_read_at": "2026-04-01T00:00:00-07:00",
        "consumption": "14.30", "unit": "HCF", "quality": "actual"}
    # 1 HCF = 748.052 gallons: 7,480.52 gal = 10 HCF, 22,441.56 gal = 30 HCF.
    assert (by_account["A0000002"]["start_read"], by_account["A0000002"]["end_read"],
            by_account["A0000002"]["consumption"], by_account["A0000002"]["meter_size"]) == (
        "10.0000", "30.0000", "20.0000", "1")
    # Installed mid-period: the install read is the start read.
    assert (by_account["A0000003"]["start_read"], by_account["A0000003"]["start_read_at"],
            by_account["A0000003"]["consumption"]) == ("5", "2026-03-10T00:00:00-07:00", "4.5")
    assert sorted(by_account) == ["A0000001", "A0000002", "A0000003"]
    assert {m["account_id"]: m["reason"] for m in result["missing"]} == {
        "A0000004": "no meter installed on the account's connection",
        "A0000005": "no read in the period",
        # 50 -> 20: held as reverse flow by VEE (register reads go through it), so no valid read in March.
        "A0000006": "no read in the period",
        "A0000007": "meter installed after the period",
        "A0000099": "unknown account"}


def test_consumption_requests_name_their_bad_fields(running_services, rpc):
    start_metering(running_services, rpc)
    with pytest.raises(InvalidInput) as error:
        rpc.metering.get_consumption({"period_start": "2026-03-01", "period_end": "2026-03-31", "account_ids": []})
    assert set(error.value.args[0]) == {"account_ids"}
    with pytest.raises(InvalidInput) as error:
        rpc.metering.get_consumption({"period_start": "2026-03-31", "period_end": "2026-03-01",
                                      "account_ids": ["A0000001"]})
    assert set(error.value.args[0]) == {"period_end"}


def test_consumption_of_thousands_of_accounts_is_answered_in_one_call(running_services, rpc, service_db):
    start_metering(running_services, rpc)
    accounts = [(f"A{n:07d}", f"SC{n:07d}", f"M{n:07d}") for n in range(1, 5001)]
    with engine_for("metering").begin() as db:  # seeded in bulk: the RPC, not the seeding, is under test
        db.execute(sa.text("insert into service_accounts values (:a, :c, 'open', '2026-01-01')"),
                   [{"a": a, "c": c} for a, c, _ in accounts])
        db.execute(sa.text("insert into meters values (:m, '5/8', null, null, 6, 'HCF', 'installed')"),
                   [{"m": m} for _, _, m in accounts])
        db.execute(sa.text("insert into installations (serial, connection_id, installed_on, installed_at) "
                           "values (:m, :c, '2026-01-01', '2026-01-01T00:00-08:00')"),
                   [{"m": m, "c": c} for _, c, m in accounts])
        db.execute(sa.text("select ensure_register_read_partition(m) from generate_series("
                           "timestamptz '2026-01-01', timestamptz '2026-05-01', interval '1 month') m"))
        db.execute(sa.text("insert into register_reads (meter_serial, read_at, value, validated_value, quality, "
                           "unit, source) select serial, installed_at + make_interval(days => d), d * 0.5, "
                           "d * 0.5, 'actual', 'HCF', 'ami' from installations, generate_series(0, 100) d"))
    result = rpc.metering.get_consumption({"period_start": "2026-02-01", "period_end": "2026-02-28",
                                           "account_ids": [a for a, _, _ in accounts]})
    assert result["missing"] == []
    assert len(result["determinants"]) == 5000
    # The 1 February to 1 March midnight reads: 28 days x 0.5 HCF.
    assert {d["consumption"] for d in result["determinants"]} == {"14.0"}


def test_account_meter_reads_lists_the_meter_and_its_latest_reads_newest_first(running_services, rpc, publish):
    start_metering(running_services, rpc)
    open_account(publish, "A0000001", "SC0000001")
    set_meter(rpc, "M-1", "SC0000001", initial_read="1")
    hours = [read("M-1", f"2026-03-{day:02d}T{hour:02d}:00:00-08:00", f"{day}.{hour:02d}")
             for day in range(1, 6) for hour in range(24)]
    publish(AMI_READS, ami_batch("B-1", *hours))
    wait_for(batch_done("B-1"), message="reads stored")

    result = rpc.metering.account_meter_reads("A0000001")

    assert result["meters"] == [{"serial": "M-1", "size": "5/8", "connection_id": "SC0000001",
                                 "installed_on": "2026-01-15"}]
    assert len(result["reads"]) == 100
    assert result["reads"][0] == {"meter_serial": "M-1", "read_at": "2026-03-05T23:00:00-08:00",
                                  "value": "5.23", "unit": "HCF", "source": "ami"}
    assert [r["read_at"] for r in result["reads"]] == sorted((r["read_at"] for r in result["reads"]), reverse=True)
    with pytest.raises(NotFound):
        rpc.metering.account_meter_reads("A0000404")


def test_every_contract_example_the_consumers_accept_is_handled(running_services, rpc, publish):
    start_metering(running_services, rpc)
    opened = get(OPENED).examples()
    for payload in opened:
        publish(OPENED, payload, producer_name="accounts")
    wait_for(lambda: scalar("select count(*) from service_accounts") == len({p["account_id"] for p in opened}),
             message="every account_opened example recorded")
    for n, batch in enumerate(get(AMI_READS).examples()):
        for serial in {r["meter_serial"] for r in batch["reads"]}:
            set_meter(rpc, serial, f"SC-EXAMPLE-{n}-{serial}", installed_on="2026-01-01")
        publish(AMI_READS, batch, producer_name="ami-headend")
        wait_for(batch_done(batch["batch_id"]), message=f"example batch {batch['batch_id']}")
        assert scalar("select count(*) from register_reads where batch_id = :b", b=batch["batch_id"]) == len(
            batch["reads"])


def test_an_account_opened_event_redelivered_is_recorded_once(running_services, rpc, publish):
    start_metering(running_services, rpc)
    envelope = publish(OPENED, dict(get(OPENED).examples()[0], account_id="A0000001"), producer_name="accounts")
    publish(OPENED, envelope=envelope)
    publish(OPENED, dict(get(OPENED).examples()[0], account_id="A0000002"), producer_name="accounts")
    wait_for(lambda: scalar("select count(*) from inbox where consumer = 'metering.on_account_opened'") == 2
             and scalar("select count(*) from service_accounts") == 2, message="both accounts recorded")
    assert scalar("select count(*) from service_accounts where account_id = 'A0000001'") == 1


def test_an_account_opened_in_accounts_reaches_metering(running_services, rpc):
    running_services("accounts", "metering")
    address = {"line1": "12 Orchard Ln", "city": "Ojai", "zip": "93023"}
    customer = rpc.accounts.create_customer({"name": "Ana Reyes", "mailing_address": address})
    rpc.accounts.create_parcel({"apn": "011-222-333", "situs_address": address, "owner_of_record": "Ana Reyes"})
    connection = rpc.accounts.authorize_connection({"apn": "011-222-333", "authorized_meter_size": "5/8"})
    account = rpc.accounts.open_account({"customer_id": customer["customer_id"],
                                         "connection_id": connection["connection_id"]})
    set_meter(rpc, "M-1", connection["connection_id"])
    wait_for(lambda: scalar("select connection_id from service_accounts where account_id = :a",
                            a=account["account_id"]) == connection["connection_id"], message="account in metering")
    assert rpc.metering.account_meter_reads(account["account_id"])["meters"][0]["serial"] == "M-1"


def test_metering_contract_examples_honour_their_schemas():
    names = [name for name in MESSAGES if name.startswith("metering.")]
    assert len(names) == 32  # + find_meters request and response (issue 11 search)
    for name in names:
        examples = get(name).examples()
        assert examples, f"{name} has no example"
        for example in examples:
            get(name).schema().load(json.loads(json.dumps(example)))
