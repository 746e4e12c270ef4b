"""Billing through its entrypoints on real RabbitMQ and PostgreSQL.

Metering is outside this service: most bill-run tests get determinants from a tiny nameko
service named "metering" in this process that answers with fixed readings;
one runs the real metering service from meter installation and an AMI read to the bill. The bill
run asks metering.billing_determinants (v3).
"""
import copy
import importlib
from decimal import Decimal

import pytest
import sqlalchemy as sa
from kombu import Connection
from nameko.rpc import rpc as rpc_entrypoint
from nameko.runners import ServiceRunner

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get as contract
from cis_runtime import config
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput, NotFound
from cis_runtime.testing import dead_letters, wait_for

PERIOD = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
SEED = importlib.import_module("cis_billing.migrations.versions.0001_initial")
ACCOUNT_OPENED = contract("accounts.account_opened.v1").examples()[0]


class FakeMetering:
    """Stands in for the metering service: fixed determinants per account, or a reason there are none."""
    name = "metering"
    consumption: dict[str, str] = {}
    missing: dict[str, str] = {}

    @rpc_entrypoint
    def get_consumption(self, request):  # v1: what the Prop 218 report asks
        asked = set(request["account_ids"])
        return {
            "determinants": [_determinant(a, hcf) for a, hcf in self.consumption.items() if a in asked],
            "missing": [{"account_id": a, "reason": r} for a, r in self.missing.items() if a in asked],
        }

    @rpc_entrypoint
    def billing_determinants(self, request):  # v3: what the bill run asks
        answer = self.get_consumption(request)
        for determinant in answer["determinants"]:
            determinant.update(source_reads=[], estimates=[], true_ups=[])
        return {**answer, "held": []}


def _determinant(account_id: str, hcf: str) -> dict:
    return {"account_id": account_id, "meter_serial": f"M-{account_id}", "meter_size": "5/8",
            "start_read": "100", "start_read_at": "2026-03-01T08:00:00-08:00",
            "end_read": str(Decimal("100") + Decimal(hcf)), "end_read_at": "2026-03-31T08:00:00-07:00",
            "consumption": hcf, "unit": "HCF", "quality": "actual"}


@pytest.fixture
def metering():
    """Start the fake metering service; returns a function that sets what it answers."""
    runner = ServiceRunner(config.nameko_config("metering"))
    runner.add_service(FakeMetering)

    def answer(consumption: dict[str, str], missing: dict[str, str] | None = None, start: bool = True):
        FakeMetering.consumption, FakeMetering.missing = consumption, missing or {}
        if start:
            runner.start()

    yield answer
    runner.stop()


def query(sql: str, **params):
    with engine_for("billing").connect() as db:
        return db.execute(sa.text(sql), params).all()


def outbox(name: str) -> list[dict]:
    return [row[0] for row in query("select envelope from outbox where message_name = :n order by id", n=name)]


def account_opened(account_id: str, **changes) -> dict:
    payload = copy.deepcopy(ACCOUNT_OPENED)
    payload.update(account_id=account_id, **changes)
    return payload


def open_accounts(publish, *account_ids: str, **changes) -> None:
    for account_id in account_ids:
        publish("accounts.account_opened.v1", account_opened(account_id, **changes))
    wait_for(lambda: query("select count(*) from accounts")[0][0] >= len(account_ids),
             message="billing to learn of the opened accounts")


def run_to_completion(rpc, run: dict) -> dict:
    return wait_for(lambda: (r := rpc.billing.get_bill_run(run["run_id"]))["status"] == "completed" and r,
                    timeout=30, message=f"bill run {run['run_id']} to complete")


def queue_ready_count(queue: str) -> int:
    with Connection(config.amqp_uri()) as connection:
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def start_billing(running_services, *others: str):
    """Start billing (with the demo tariff its migration adopts)."""
    return running_services("billing", *others)


# --- accounts view (consumer) ---------------------------------------------------------------

def test_every_account_opened_example_is_kept_as_billings_view_of_the_account(running_services, publish):
    start_billing(running_services)
    examples = contract("accounts.account_opened.v1").examples()
    assert examples, "accounts.account_opened.v1 has no example to feed"
    for example in examples:
        publish("accounts.account_opened.v1", example)
    for example in examples:
        row = wait_for(lambda: query("select bill_cycle, customer_class, authorized_meter_size, opened_on, status "
                                     "from accounts where account_id = :a", a=example["account_id"]),
                       message=f"account {example['account_id']} in billing")
        cycle, customer_class, meter_size, opened_on, status = row[0]
        assert (cycle, customer_class, meter_size, opened_on.isoformat(), status) == (
            example["bill_cycle"], example["customer_class"], example["authorized_meter_size"],
            example["opened_on"], "open")
    assert dead_letters("billing.on_account_opened") == []


def test_a_redelivered_account_opened_has_no_second_effect(running_services, publish):
    runner = start_billing(running_services)
    envelope = publish("accounts.account_opened.v1", account_opened("A0000042"))
    wait_for(lambda: query("select 1 from accounts where account_id = 'A0000042'"), message="first delivery")
    # Forget the account locally: if the redelivery were handled again it would come back.
    with engine_for("billing").begin() as db:
        db.execute(sa.text("delete from accounts where account_id = 'A0000042'"))

    publish("accounts.account_opened.v1", envelope=envelope)
    wait_for(lambda: queue_ready_count("billing.on_account_opened") == 0, message="redelivery consumed")
    runner.stop()  # waits for the handler; anything unhandled would be back in the queue

    assert queue_ready_count("billing.on_account_opened") == 0
    assert query("select count(*) from accounts")[0][0] == 0
    assert query("select count(*) from inbox")[0][0] == 1
    assert dead_letters("billing.on_account_opened") == []


# --- bill runs ------------------------------------------------------------------------------

def test_a_bill_run_bills_each_account_once_from_metered_consumption(running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001", "A0000002", "A0000003")
    metering({"A0000001": "12", "A0000002": "0.5"}, {"A0000003": "no register read at or after 2026-03-31"})

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    assert (run["accounts_total"], run["bills_issued"]) == (3, 2)
    assert run["exceptions"] == [{"account_id": "A0000003", "reason": "no register read at or after 2026-03-31"}]
    statement = rpc.billing.account_statement("A0000001")
    assert statement["balance"] == "64.55"
    [bill] = statement["bills"]
    assert (bill["issued_on"], bill["due_on"], bill["total"]) == ("2026-04-02", "2026-04-23", "64.55")
    assert [(l["rule"], l["quantity"], l["rate"], l["amount"], l["tariff"]) for l in bill["lines"]] == [
        ("fixed_by_meter_size", "1", "20.75", "20.75", "residential@1"),
        ("volumetric", "12", "3.65", "43.80", "residential@1")]
    assert rpc.billing.account_statement("A0000002")["balance"] == "22.58"  # 20.75 + 1.825 -> 1.83


def test_bill_issued_events_honour_their_contract_one_per_new_bill(running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001", "A0000002")
    metering({"A0000001": "12", "A0000002": "3"})
    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    envelopes = outbox("billing.bill_issued.v1")
    assert len(envelopes) == 2
    payloads = [open_envelope(envelope)[1] for envelope in envelopes]  # raises if a payload breaks the contract
    by_account = {p["account_id"]: p for p in payloads}
    assert by_account["A0000001"]["bill_run_id"] == run["run_id"]
    assert by_account["A0000001"]["total"] == Decimal("64.55")
    assert by_account["A0000001"]["balance_due"] == Decimal("64.55")
    assert [line["line_no"] for line in by_account["A0000001"]["lines"]] == [1, 2]
    assert by_account["A0000002"]["total"] == Decimal("31.70")


def test_starting_the_same_bill_run_again_issues_no_second_bill(running_services, rpc, publish, metering):
    start_billing(running_services)
    open_accounts(publish, "A0000001", "A0000002")
    metering({"A0000001": "12", "A0000002": "3"})
    first = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    again = rpc.billing.start_bill_run({"cycle": "1", **PERIOD})

    assert again == first
    assert query("select count(*) from bill_runs")[0][0] == 1
    assert query("select count(*) from bills")[0][0] == 2
    assert len(outbox("billing.bill_issued.v1")) == 2
    assert query("select count(*) from ledger_entries")[0][0] == 2


def test_an_account_billed_for_the_period_by_another_run_is_not_billed_twice(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    open_accounts(publish, "A0000001")
    metering({"A0000001": "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))
    with engine_for("billing").begin() as db:  # the account moves to another bill cycle
        db.execute(sa.text("update accounts set bill_cycle = '2'"))

    other = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "2", **PERIOD}))

    assert other["bills_issued"] == 0
    assert other["exceptions"] == [{"account_id": "A0000001", "reason": "already billed for this period"}]
    assert query("select count(*) from bills")[0][0] == 1
    assert len(outbox("billing.bill_issued.v1")) == 1


def test_accounts_without_a_tariff_for_their_class_are_exceptions_not_zero_bills(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    open_accounts(publish, "A0000001", customer_class="irrigation")
    metering({"A0000001": "12"})

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    assert run["bills_issued"] == 0
    assert run["exceptions"] == [{"account_id": "A0000001", "reason":
                                  "no tariff in effect on 2026-03-01 for customer class irrigation"}]
    assert query("select count(*) from bills")[0][0] == 0


def test_a_bill_run_waits_for_metering_and_resumes_when_it_answers(running_services, rpc, publish, metering):
    start_billing(running_services)
    open_accounts(publish, "A0000001")
    run = rpc.billing.start_bill_run({"cycle": "1", **PERIOD})
    wait_for(lambda: rpc.billing.get_bill_run(run["run_id"])["status"] == "running",
             message="run to fix its accounts while metering is down")
    assert query("select count(*) from bills")[0][0] == 0

    metering({"A0000001": "12"})

    assert run_to_completion(rpc, run)["bills_issued"] == 1


def test_bill_run_requests_are_validated(running_services, rpc):
    start_billing(running_services)
    with pytest.raises(InvalidInput) as error:
        rpc.billing.start_bill_run({"cycle": "1", "period_start": "2026-03-31", "period_end": "2026-03-01"})
    assert "period_end" in error.value.args[0]
    with pytest.raises(NotFound):
        rpc.billing.get_bill_run("BR9999999")


# --- payments -------------------------------------------------------------------------------

def test_a_payment_lowers_the_balance_and_is_announced(running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.set_business_date("2026-04-10")
    open_accounts(publish, "A0000001")
    metering({"A0000001": "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    payment = rpc.billing.post_payment({"account_id": "A0000001", "amount": "60.00", "method": "check",
                                        "reference": "CHK-1042"})

    assert (payment["amount"], payment["received_on"], payment["balance_after"]) == ("60.00", "2026-04-10", "4.55")
    [envelope] = outbox("billing.payment_posted.v1")
    _, posted = open_envelope(envelope)
    assert (posted["payment_id"], posted["balance_after"]) == (payment["payment_id"], Decimal("4.55"))
    statement = rpc.billing.account_statement("A0000001")
    assert statement["balance"] == "4.55"
    assert statement["payments"] == [{"payment_id": payment["payment_id"], "amount": "60.00", "method": "check",
                                      "reference": "CHK-1042", "received_on": "2026-04-10"}]


def test_a_replayed_bank_file_payment_is_refused_not_posted_twice(running_services, rpc, publish):
    start_billing(running_services)
    open_accounts(publish, "A0000001")
    request = {"account_id": "A0000001", "amount": "25.00", "method": "lockbox", "reference": "LBX-0415-0001",
               "received_on": "2026-04-15"}
    rpc.billing.post_payment(request)

    with pytest.raises(Conflict):
        rpc.billing.post_payment(request)

    # the same reference by another method is another payment
    assert rpc.billing.post_payment({**request, "method": "check"})["balance_after"] == "-50.00"
    assert query("select count(*) from payments")[0][0] == 2
    assert len(outbox("billing.payment_posted.v1")) == 2


def test_payments_need_a_known_account_and_a_positive_amount(running_services, rpc, publish):
    start_billing(running_services)
    with pytest.raises(NotFound):
        rpc.billing.post_payment({"account_id": "A9999999", "amount": "5.00", "method": "cash", "reference": "R1"})
    open_accounts(publish, "A0000001")
    for amount in ("0", "-5.00"):
        with pytest.raises(InvalidInput) as error:
            rpc.billing.post_payment({"account_id": "A0000001", "amount": amount, "method": "cash", "reference": "R"})
        assert "amount" in error.value.args[0]
    with pytest.raises(InvalidInput):
        rpc.billing.post_payment({"account_id": "A0000001", "amount": "5.00", "method": "bitcoin", "reference": "R"})
    with pytest.raises(NotFound):
        rpc.billing.account_statement("A9999999")
    assert query("select count(*) from ledger_entries")[0][0] == 0


def test_a_bill_run_with_the_real_metering_service_bills_metered_consumption(running_services, rpc, publish):
    start_billing(running_services, "metering")
    opened = publish("accounts.account_opened.v1", account_opened("A0000001", connection_id="SC0000002"))
    wait_for(lambda: query("select 1 from accounts"), message="billing to learn of the account")
    rpc.metering.register_meter({"serial": "M-100", "size": "5/8"})
    wait_for(lambda: _metering_knows(opened["message_id"]), message="metering to learn of the account")
    rpc.metering.install_meter({"serial": "M-100", "connection_id": "SC0000002", "installed_on": "2026-02-20",
                                "initial_read": "100"})
    publish("metering.ami_register_reads.v1", {"batch_id": "b-1", "head_end": "demo", "reads": [
        {"meter_serial": "M-100", "read_at": "2026-03-31T06:00:00-07:00", "value": "112"}]})
    wait_for(lambda: rpc.metering.account_meter_reads("A0000001")["reads"][0]["value"] == "112",
             message="metering to store the AMI read")

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    assert (run["bills_issued"], run["exceptions"]) == (1, [])
    assert rpc.billing.account_statement("A0000001")["balance"] == "64.55"


def _metering_knows(message_id: str) -> bool:
    with engine_for("metering").connect() as db:
        return bool(db.scalar(sa.text("select count(*) from inbox where message_id = :m"), {"m": message_id}))
