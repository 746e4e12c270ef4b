"""A malformed AMI batch lands in metering's dead-letter queue with its reason; nothing of it is
stored and the consumer goes on with the next batch."""
from datetime import datetime
from zoneinfo import ZoneInfo

from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches
from cis_runtime.testing import dead_letters, wait_for

from e2e_support import query

PACIFIC = ZoneInfo("America/Los_Angeles")


def test_malformed_ami_batch_is_dead_lettered_with_its_reason_and_stores_nothing(api, suite):
    api("POST", "/meters", {"serial": "DLQ0000001", "size": "5/8"})
    api("POST", "/meters/DLQ0000001/installation", {"connection_id": "SC-DLQ", "installed_on": "2026-08-01",
                                                      "initial_read": "10.0"})
    read_at = datetime(2026, 9, 1, 8, 0, tzinfo=PACIFIC).isoformat()
    bad = batch_envelope("dlq-bad", [
        {"meter_serial": "DLQ0000001", "read_at": read_at, "value": "12.5", "unit": "HCF"},
        {"meter_serial": "DLQ0000001", "read_at": "yesterday", "value": "13", "unit": "HCF"}])
    good = batch_envelope("dlq-good", [{"meter_serial": "DLQ0000001", "read_at": read_at, "value": "12.5",
                                        "unit": "HCF"}])
    publish_batches(config.amqp_uri(), [bad, b"this is not json", good])

    wait_for(lambda: query("metering", "select count(*) from ami_batches where batch_id = 'dlq-good'")[0][0] == 1,
             message="good batch after the bad ones")
    letters = []
    wait_for(lambda: letters.extend(dead_letters("metering.on_ami_register_reads")) or len(letters) >= 2,
             message="two dead letters")
    reasons = [headers["x-cis-error"] for headers, _ in letters]
    assert any("read_at" in reason for reason in reasons), reasons
    assert query("metering", "select count(*) from ami_batches where batch_id = 'dlq-bad'")[0][0] == 0
    assert query("metering", "select count(*) from register_reads where meter_serial = 'DLQ0000001' "
                 "and source = 'ami'")[0][0] == 1
