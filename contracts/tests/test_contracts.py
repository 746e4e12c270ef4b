"""Every contract has valid examples, a recorded fingerprint, and a current AsyncAPI entry."""
import pytest

from cis_contracts import MESSAGES, asyncapi, fingerprint
from cis_contracts.envelope import make_envelope, open_envelope

NAMES = sorted(MESSAGES)


@pytest.mark.parametrize("name", NAMES)
def test_every_contract_has_examples_and_each_validates(name):
    examples = MESSAGES[name].examples()
    assert examples, f"contracts/examples/{name}.json is missing"
    for example in examples:
        MESSAGES[name].schema().load(example)


@pytest.mark.parametrize("name", NAMES)
def test_event_examples_travel_in_a_valid_envelope(name):
    for example in MESSAGES[name].examples():
        envelope, _ = open_envelope(make_envelope(name, "test", example))
        assert envelope["type"] + ".v" + str(envelope["version"]) == name


@pytest.mark.parametrize("name", NAMES)
def test_schema_fields_do_not_change_without_a_version_bump(name):
    recorded = fingerprint.recorded()
    assert name in recorded, f"{name} has no recorded fingerprint: run python -m cis_contracts.fingerprint --write"
    assert fingerprint.fingerprint(MESSAGES[name].schema) == recorded[name], (
        f"the fields of {name} changed: publish the change as a new version ({name[:-1]}"
        f"{MESSAGES[name].version + 1}) and record fingerprints")


def test_money_refuses_json_numbers_and_names_the_field():
    from marshmallow import Schema, ValidationError
    from cis_contracts.fields import Money

    class Amount(Schema):
        amount = Money(required=True)

    with pytest.raises(ValidationError) as error:
        Amount().load({"amount": 12.3})
    assert "amount" in error.value.messages
    assert str(Amount().load({"amount": "12.30"})["amount"]) == "12.30"


def test_committed_asyncapi_document_is_current():
    assert asyncapi.ASYNCAPI_FILE.read_text() == asyncapi.render(), (
        "contracts/asyncapi.yaml is stale: run python -m cis_contracts.asyncapi --write")
