"""Contracts of the metering service: meters, installations, register reads, consumption.

Register readings and consumption are Quantity (decimal strings). Consumption handed to
billing is always in HCF (1 HCF = 100 ft3 = 748.052 US gal).
"""
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cis_contracts.fields import Quantity, ZonedDateTime, require_positive
from cis_contracts.registry import COMMAND, EVENT, RPC_REQUEST, RPC_RESPONSE, message

METER_SIZES = ("5/8", "3/4", "1", "1.5", "2", "3", "4", "6", "8")
REGISTER_UNITS = ("HCF", "gallons", "cubic_feet")
METER_STATUSES = ("in_stock", "installed")
READ_SOURCES = ("install", "ami", "manual")  # account_reads.v1 shows handheld reads as "manual"
AMI_EXCHANGE = "ami.inbound"
MAX_READS_PER_BATCH = 10_000
MAX_ACCOUNTS_PER_CONSUMPTION_REQUEST = 20_000
REGISTERS = ("main", "high", "low")  # a compound meter has a high- and a low-flow register
INTERVAL_SECONDS = (300, 900, 1800, 3600, 86400)
HEAD_END_FLAGS = ("tamper", "reverse_flow", "leak", "low_battery", "magnetic_tamper", "cut_wire")
MAX_BLOCKS_PER_BATCH = 5_000
MAX_VALUES_PER_BLOCK = 31 * 96  # a month of 15-minute readings


def _not_negative(value):
    if value < 0:
        raise ValidationError("A register reading cannot be negative.")


@message("metering.register_meter_request.v1", RPC_REQUEST, "Add a meter to the District's inventory (in stock).",
         rpc="metering.register_meter")
class RegisterMeterRequest(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    size = fields.String(required=True, validate=validate.OneOf(METER_SIZES))
    make = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    register_digits = fields.Integer(load_default=6, validate=validate.Range(min=3, max=12))
    unit = fields.String(load_default="HCF", validate=validate.OneOf(REGISTER_UNITS))


@message("metering.meter.v1", RPC_RESPONSE, "A meter as stored.", rpc="metering.register_meter")
class MeterSchema(RegisterMeterRequest):
    status = fields.String(required=True, validate=validate.OneOf(METER_STATUSES))


@message("metering.install_meter_request.v1", RPC_REQUEST,
         "Install a meter in stock on a service connection, with the register reading at installation.",
         rpc="metering.install_meter")
class InstallMeterRequest(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    connection_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    installed_on = fields.Date(required=True)
    initial_read = Quantity(required=True, validate=_not_negative)


@message("metering.installation.v1", RPC_RESPONSE, "A meter installation as stored.", rpc="metering.install_meter")
class InstallationSchema(InstallMeterRequest):
    pass


class AmiReadSchema(Schema):
    meter_serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True, validate=_not_negative)
    unit = fields.String(load_default="HCF", validate=validate.OneOf(REGISTER_UNITS))


@message("metering.ami_register_reads.v1", COMMAND,
         "A batch of register reads from an AMI head-end (published to exchange ami.inbound). "
         "A batch_id is processed once; reads of meters the District does not know are held as read exceptions.",
         exchange=AMI_EXCHANGE)
class AmiRegisterReads(Schema):
    batch_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    head_end = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reads = fields.List(fields.Nested(AmiReadSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_READS_PER_BATCH))


_REGISTER_READING = re.compile(r"\d{1,12}(\.\d{1,6})?")


class IntervalValues(fields.Field):
    """Register readings as decimal strings ("1234.567", never JSON numbers), null for an interval
    the head-end did not read. Checked in one pass per block (a batch holds up to a few hundred
    thousand readings: a marshmallow field per reading would be the bottleneck); loaded as the
    same strings, which the service turns into Decimals."""

    default_error_messages = {
        "invalid": "Must be a non-empty list of register readings.",
        "too_long": f"At most {MAX_VALUES_PER_BLOCK} readings per block.",
        "reading": "values[{index}]: not a register reading (a decimal string such as \"1234.567\", or null).",
        "all_missing": "At least one reading must be present.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not value:
            raise self.make_error("invalid")
        if len(value) > MAX_VALUES_PER_BLOCK:
            raise self.make_error("too_long")
        match = _REGISTER_READING.fullmatch
        for index, reading in enumerate(value):
            if reading is not None and not (type(reading) is str and match(reading)):
                raise self.make_error("reading", index=index)
        if all(reading is None for reading in value):
            raise self.make_error("all_missing")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else [None if v is None else str(v) for v in value]


class IntervalBlockSchema(Schema):
    """IEC 61968-9 style interval block: one register of one meter, readings at a fixed interval.
    values[i] is the cumulative register reading at interval_start + i * interval_seconds."""
    meter_serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    register = fields.String(load_default="main", validate=validate.OneOf(REGISTERS))
    unit = fields.String(load_default="HCF", validate=validate.OneOf(REGISTER_UNITS))
    interval_start = ZonedDateTime(required=True)
    interval_seconds = fields.Integer(required=True, strict=True, validate=validate.OneOf(INTERVAL_SECONDS))
    values = IntervalValues(required=True)
    flags = fields.List(fields.String(validate=validate.OneOf(HEAD_END_FLAGS)), load_default=list)


@message("metering.ami_interval_reads.v1", COMMAND,
         "A batch of interval blocks from an AMI head-end (exchange ami.inbound, routing key = this name). "
         "Each block carries one meter register's readings at a fixed interval. A batch_id is stored once: "
         "a re-published batch adds nothing; a reading already stored for the same meter, register and "
         "instant is kept (a different value is held as a conflicting duplicate). Blocks of unknown or "
         "uninstalled meters are held as read exceptions, never dropped.",
         exchange=AMI_EXCHANGE)
class AmiIntervalReads(Schema):
    batch_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    head_end = fields.String(required=True, validate=validate.Length(min=1, max=100))
    blocks = fields.List(fields.Nested(IntervalBlockSchema), required=True,
                         validate=validate.Length(min=1, max=MAX_BLOCKS_PER_BATCH))


READS_FILE_FORMATS = ("beacon", "generic")


@message("metering.import_reads_file_request.v1", RPC_REQUEST,
         "Import a reads file: a Badger BEACON interval CSV or the District's generic CSV (docs/metering.md). "
         "The same content imported again stores nothing new.", rpc="metering.import_reads_file")
class ImportReadsFileRequest(Schema):
    file_format = fields.String(required=True, validate=validate.OneOf(READS_FILE_FORMATS))
    file_name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content = fields.String(required=True, validate=validate.Length(min=1))


class RejectedRowSchema(Schema):
    line = fields.Integer(required=True)
    reason = fields.String(required=True)


@message("metering.reads_file_import.v1", RPC_RESPONSE,
         "What an import stored: readings stored, read exceptions raised (held for staff), and every "
         "rejected row with its line number (header = line 1) and reason.", rpc="metering.import_reads_file")
class ReadsFileImportSchema(Schema):
    file_hash = fields.String(required=True)
    file_format = fields.String(required=True, validate=validate.OneOf(READS_FILE_FORMATS))
    file_name = fields.String(required=True)
    already_imported = fields.Boolean(required=True)
    rows = fields.Integer(required=True)
    stored = fields.Integer(required=True)
    held = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)


# superseded: a late batch's readings showed a boundary finding no longer holds (metering closed it, audited).
EXCEPTION_STATUSES = ("open", "accepted", "edited", "estimated", "reread_requested", "meter_check_requested",
                     "noted", "superseded")
RESOLUTIONS = ("accept", "edit", "estimate", "request_reread", "request_meter_check")
MAX_EXCEPTIONS_LISTED = 500


@message("metering.list_read_exceptions_request.v1", RPC_REQUEST,
         "The read exceptions worklist, oldest first, a page at a time (after_id = the last id of the previous page). "
         "status 'unresolved' lists open ones and those waiting for a re-read or meter check.",
         rpc="metering.list_read_exceptions")
class ListReadExceptionsRequest(Schema):
    status = fields.String(load_default="unresolved",
                           validate=validate.OneOf(("unresolved", "all") + EXCEPTION_STATUSES))
    rule = fields.String(load_default=None, allow_none=True)
    meter_serial = fields.String(load_default=None, allow_none=True)
    after_id = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_EXCEPTIONS_LISTED))


class ReadExceptionSchema(Schema):
    exception_id = fields.Integer(required=True)
    meter_serial = fields.String(required=True)
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True, allow_none=True)
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    rule = fields.String(required=True)
    reason = fields.String(required=True)
    details = fields.Dict(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(EXCEPTION_STATUSES))
    batch_id = fields.String(required=True, allow_none=True)


@message("metering.read_exceptions.v1", RPC_RESPONSE, "A page of the read exceptions worklist.",
         rpc="metering.list_read_exceptions")
class ReadExceptionsSchema(Schema):
    exceptions = fields.List(fields.Nested(ReadExceptionSchema), required=True)
    next_after_id = fields.Integer(required=True, allow_none=True)


@message("metering.resolve_read_exception_request.v1", RPC_REQUEST,
         "Resolve a read exception: accept the reading as received, edit it (new_value, with a reason), estimate it "
         "from the readings either side, or request a re-read or a meter check (a work order to operations). "
         "Every resolution is audited.", rpc="metering.resolve_read_exception")
class ResolveReadExceptionRequest(Schema):
    exception_id = fields.Integer(required=True)
    action = fields.String(required=True, validate=validate.OneOf(RESOLUTIONS))
    resolved_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    new_value = Quantity(load_default=None, allow_none=True)

    @validates_schema
    def _edit_has_a_value(self, data, **kwargs):
        if data["action"] == "edit" and data.get("new_value") is None:
            raise ValidationError("An edit needs the new reading.", "new_value")
        if data["action"] != "edit" and data.get("new_value") is not None:
            raise ValidationError("Only an edit takes a new reading.", "new_value")
        if data.get("new_value") is not None and data["new_value"] < 0:
            raise ValidationError("A register reading cannot be negative.", "new_value")


@message("metering.read_exception_resolution.v1", RPC_RESPONSE, "An audited resolution of a read exception.",
         rpc="metering.resolve_read_exception")
class ReadExceptionResolutionSchema(Schema):
    resolution_id = fields.Integer(required=True)
    exception_id = fields.Integer(required=True)
    action = fields.String(required=True, validate=validate.OneOf(RESOLUTIONS))
    status = fields.String(required=True, validate=validate.OneOf(EXCEPTION_STATUSES))
    resolved_by = fields.String(required=True)
    resolved_on = fields.Date(required=True)
    reason = fields.String(required=True)
    old_value = Quantity(required=True, allow_none=True)
    new_value = Quantity(required=True, allow_none=True)
    work_order_id = fields.String(required=True, allow_none=True)


@message("metering.field_work_requested.v1", EVENT,
         "A work order to operations: re-read a meter or check it (a read exception staff could not resolve from "
         "the office), with where the meter is and how it is installed.", external_queue="operations.work_orders")
class FieldWorkRequested(Schema):
    order_id = fields.String(required=True)
    work = fields.String(required=True, validate=validate.OneOf(("reread_meter", "check_meter")))
    meter_serial = fields.String(required=True)
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))
    meter_size = fields.String(required=True, allow_none=True)
    meter_type = fields.String(required=True, allow_none=True)
    installation = fields.String(required=True, allow_none=True)  # e.g. '5/8" displacement, AMI endpoint 130411962'
    connection_id = fields.String(required=True, allow_none=True)
    account_id = fields.String(required=True, allow_none=True)
    service_address = fields.String(required=True, allow_none=True)
    apn = fields.String(required=True, allow_none=True)
    exception_id = fields.Integer(required=True)
    rule = fields.String(required=True)
    reason = fields.String(required=True)
    requested_by = fields.String(required=True)
    requested_on = fields.Date(required=True)


@message("metering.consumption_alert.v1", EVENT,
         "VEE saw a possible leak (water flowing in every interval for a day) or possible backflow (the register "
         "ran backwards) on a meter. Read by operations (external queue) and by notifications, which emails the "
         "customer a leak or backflow letter (account_id null: no open account, nobody to write to).",
         external_queue="operations.meter_alerts")
class ConsumptionAlert(Schema):
    alert_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("leak", "backflow")))
    meter_serial = fields.String(required=True)
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))
    detected_at = ZonedDateTime(required=True)
    rule = fields.String(required=True)
    reason = fields.String(required=True)
    connection_id = fields.String(required=True, allow_none=True)
    account_id = fields.String(required=True, allow_none=True)
    detected_on = fields.Date(required=True)


@message("metering.consumption_request.v1", RPC_REQUEST,
         "Billing determinants for accounts over a period (dates are District local days, both inclusive).",
         rpc="metering.get_consumption")
class ConsumptionRequest(Schema):
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    account_ids = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                              validate=validate.Length(min=1, max=MAX_ACCOUNTS_PER_CONSUMPTION_REQUEST))

    @validates_schema
    def _period_in_order(self, data, **kwargs):
        if data["period_end"] < data["period_start"]:
            raise ValidationError("period_end must not be before period_start.", "period_end")


class DeterminantSchema(Schema):
    account_id = fields.String(required=True)
    meter_serial = fields.String(required=True)
    meter_size = fields.String(required=True, validate=validate.OneOf(METER_SIZES))
    start_read = Quantity(required=True)
    start_read_at = ZonedDateTime(required=True)
    end_read = Quantity(required=True)
    end_read_at = ZonedDateTime(required=True)
    consumption = Quantity(required=True, validate=_not_negative)
    unit = fields.String(required=True, validate=validate.Equal("HCF"))
    quality = fields.String(required=True, validate=validate.OneOf(["actual"]))


class MissingConsumptionSchema(Schema):
    account_id = fields.String(required=True)
    reason = fields.String(required=True)


@message("metering.consumption_response.v1", RPC_RESPONSE,
         "Per account: start and end register reads and consumption in HCF, or the reason there is none "
         "(never a zero in place of a missing read).", rpc="metering.get_consumption")
class ConsumptionResponse(Schema):
    determinants = fields.List(fields.Nested(DeterminantSchema), required=True)
    missing = fields.List(fields.Nested(MissingConsumptionSchema), required=True)


READ_QUALITIES = ("actual", "estimated", "edited")
METER_TYPES = ("displacement", "compound", "turbine")


@message("metering.update_meter_request.v1", RPC_REQUEST,
         "Set a meter's inventory details; fields left out are unchanged. A compound meter has high and low "
         "registers; delivers_to_agency marks a bulk (intertie) meter measuring water delivered to another agency; "
         "locked is a meter sealed/locked off in the ground.", rpc="metering.update_meter")
class UpdateMeterRequest(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    make = fields.String(allow_none=True, validate=validate.Length(max=80))
    model = fields.String(allow_none=True, validate=validate.Length(max=80))
    meter_type = fields.String(validate=validate.OneOf(METER_TYPES))
    multiplier = Quantity(validate=require_positive)
    ami_endpoint_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    delivers_to_agency = fields.String(allow_none=True, validate=validate.Length(min=1, max=120))
    locked = fields.Boolean()


@message("metering.meter_record.v1", RPC_RESPONSE, "A meter's inventory record with its test history.",
         rpc="metering.update_meter")
class MeterRecordSchema(Schema):
    serial = fields.String(required=True)
    size = fields.String(required=True, validate=validate.OneOf(METER_SIZES))
    make = fields.String(required=True, allow_none=True)
    model = fields.String(required=True, allow_none=True)
    meter_type = fields.String(required=True, validate=validate.OneOf(METER_TYPES))
    registers = fields.List(fields.String(validate=validate.OneOf(REGISTERS)), required=True)
    register_digits = fields.Integer(required=True)
    multiplier = Quantity(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    ami_endpoint_id = fields.String(required=True, allow_none=True)
    delivers_to_agency = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("in_stock", "installed", "removed")))
    locked = fields.Boolean(required=True)
    tests = fields.List(fields.Dict(), required=True)


@message("metering.record_meter_test_request.v1", RPC_REQUEST,
         "A bench or field accuracy test of a meter (AWWA M6 low/intermediate/high flow accuracy, percent).",
         rpc="metering.record_meter_test")
class RecordMeterTestRequest(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    tested_on = fields.Date(required=True)
    tester = fields.String(required=True, validate=validate.Length(min=1, max=100))
    low_flow_accuracy = Quantity(required=True)
    intermediate_flow_accuracy = Quantity(required=True)
    high_flow_accuracy = Quantity(required=True)
    passed = fields.Boolean(required=True)
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


@message("metering.agency_deliveries_request.v1", RPC_REQUEST,
         "Water delivered through bulk (intertie) meters to other agencies in one month.",
         rpc="metering.agency_deliveries")
class AgencyDeliveriesRequest(Schema):
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                                  error="A month such as 2026-01."))


class AgencyDeliverySchema(Schema):
    agency = fields.String(required=True)
    meters = fields.List(fields.String(), required=True)
    hcf = Quantity(required=True)
    acre_feet = Quantity(required=True)  # 1 AF = 435.6 HCF, to 0.001 AF
    missing_reads = fields.List(fields.String(), required=True)  # meters without reads at both ends


@message("metering.agency_deliveries.v1", RPC_RESPONSE,
         "Per agency: the month's deliveries in HCF and acre-feet (multiplier applied) and the meters counted.",
         rpc="metering.agency_deliveries")
class AgencyDeliveriesSchema(Schema):
    month = fields.String(required=True)
    agencies = fields.List(fields.Nested(AgencyDeliverySchema), required=True)


@message("metering.exchange_meter_request.v1", RPC_REQUEST,
         "Exchange the meter on a connection: the old meter's final read closes its register, the new meter's initial "
         "read opens its own, both at the start of exchanged_on (District time). Consumption of a period spanning "
         "the exchange is the sum of both (metering.get_determinants). new_serial null removes the meter only.",
         rpc="metering.exchange_meter")
class ExchangeMeterRequest(Schema):
    old_serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    old_final_read = Quantity(required=True, validate=_not_negative)
    new_serial = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    new_initial_read = Quantity(load_default=None, allow_none=True, validate=_not_negative)
    exchanged_on = fields.Date(required=True)
    exchanged_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _new_meter_has_a_read(self, data, **kwargs):
        if (data.get("new_serial") is None) != (data.get("new_initial_read") is None):
            raise ValidationError("A new meter needs its initial read (and an initial read needs a new meter).",
                                  "new_initial_read")


@message("metering.meter_exchange.v1", RPC_RESPONSE, "A meter exchange (or removal) as stored.",
         rpc="metering.exchange_meter")
class MeterExchangeSchema(Schema):
    connection_id = fields.String(required=True)
    old_serial = fields.String(required=True)
    old_final_read = Quantity(required=True)
    new_serial = fields.String(required=True, allow_none=True)
    new_initial_read = Quantity(required=True, allow_none=True)
    exchanged_on = fields.Date(required=True)
MANUAL_READ_SOURCES = ("manual", "handheld")


@message("metering.enter_manual_read_request.v1", RPC_REQUEST,
         "A register reading entered by staff (office or handheld), with who read it and why. It goes through the "
         "same VEE rules as AMI readings, against the meter's previous validated reading.",
         rpc="metering.enter_manual_read")
class EnterManualReadRequest(Schema):
    meter_serial = fields.String(required=True, validate=validate.Length(min=1, max=40))
    register = fields.String(load_default="main", validate=validate.OneOf(REGISTERS))
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True, validate=_not_negative)
    source = fields.String(load_default="manual", validate=validate.OneOf(MANUAL_READ_SOURCES))
    reader = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class FindingSchema(Schema):
    exception_id = fields.Integer(required=True, allow_none=True)
    rule = fields.String(required=True)
    reason = fields.String(required=True)


@message("metering.manual_read.v1", RPC_RESPONSE,
         "The manual reading as stored: validated_value is null while a VEE finding holds it (see findings).",
         rpc="metering.enter_manual_read")
class ManualReadSchema(Schema):
    meter_serial = fields.String(required=True)
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True)
    validated_value = Quantity(required=True, allow_none=True)
    quality = fields.String(required=True, validate=validate.OneOf(("actual", "suspect")))
    source = fields.String(required=True, validate=validate.OneOf(MANUAL_READ_SOURCES))
    reader = fields.String(required=True)
    reason = fields.String(required=True)
    findings = fields.List(fields.Nested(FindingSchema), required=True)


@message("metering.consumption_request.v2", RPC_REQUEST,
         "Billing determinants with their quality and source reads (dates are District local days, both "
         "inclusive). v1 stays for callers that need only actual consumption.", rpc="metering.get_determinants")
class ConsumptionRequestV2(ConsumptionRequest):
    pass


class SourceReadSchema(Schema):
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True, allow_none=True)  # as the meter said (null for an estimate)
    validated_value = Quantity(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    quality = fields.String(required=True, validate=validate.OneOf(READ_QUALITIES))
    source = fields.String(required=True)


class DeterminantV2Schema(DeterminantSchema):
    """v1's determinant with every quality and the reads it came from."""
    quality = fields.String(required=True, validate=validate.OneOf(READ_QUALITIES))
    source_reads = fields.List(fields.Nested(SourceReadSchema), required=True)


class HeldAccountSchema(Schema):
    account_id = fields.String(required=True)
    meter_serial = fields.String(required=True)
    reason = fields.String(required=True)
    exception_ids = fields.List(fields.Integer(), required=True)


@message("metering.consumption_response.v2", RPC_RESPONSE,
         "Per account one of: a determinant (consumption in HCF, quality = the worst of its two reads: estimated, "
         "then edited, then actual; and the reads it came from), held (unresolved read exceptions in the period: "
         "resolve them in the worklist before billing), or missing with the reason.", rpc="metering.get_determinants")
class ConsumptionResponseV2(Schema):
    determinants = fields.List(fields.Nested(DeterminantV2Schema), required=True)
    held = fields.List(fields.Nested(HeldAccountSchema), required=True)
    missing = fields.List(fields.Nested(MissingConsumptionSchema), required=True)


ESTIMATION_METHODS = ("average_daily_use", "same_period_last_year")


@message("metering.consumption_request.v3", RPC_REQUEST,
         "Billing determinants as v2, and with estimate_missing_reads a register without an actual read after the "
         "period's start read gets an estimated end read (average daily use over the meter's recent history, else "
         "the same period last year); estimates are stored and asked again give the same figure. Registers with no "
         "history stay missing (never a zero bill).", rpc="metering.billing_determinants")
class ConsumptionRequestV3(ConsumptionRequest):
    estimate_missing_reads = fields.Boolean(load_default=False)


class SourceReadV3Schema(SourceReadSchema):
    """A read a v3 determinant came from, naming its register. source `billing_estimate` is a stored
    estimate (value null); `true_up` is the true value at an earlier estimate's instant."""
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))


class BillingEstimateSchema(Schema):
    estimate_id = fields.Integer(required=True)
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True)  # the register's estimated reading, in its unit
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    method = fields.String(required=True, validate=validate.OneOf(ESTIMATION_METHODS))
    basis = fields.Dict(required=True)  # the reads and daily use it came from
    consecutive_periods = fields.Integer(required=True)
    # Set when this estimate made the register's run of estimates long enough to need a field check.
    prolonged_estimation_exception_id = fields.Integer(required=True, allow_none=True)


class TrueUpSchema(Schema):
    """An earlier period's estimated end read corrected by actual reads: difference = actual - estimated,
    in HCF with the multiplier applied (positive: under-estimated, to charge; negative: to credit)."""
    estimate_id = fields.Integer(required=True)
    register = fields.String(required=True, validate=validate.OneOf(REGISTERS))
    estimated_read_at = ZonedDateTime(required=True)
    estimated_value = Quantity(required=True)
    actual_value = Quantity(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    how_known = fields.String(required=True)  # the actual read there, or interpolated between which reads
    difference = Quantity(required=True)


class DeterminantV3Schema(DeterminantV2Schema):
    """v2's determinant; consumption is the period's own use (from the true value at an earlier estimate's
    instant). Bill the true_ups' differences with it: consumption + the differences = the register's
    advance since the last billed read."""
    source_reads = fields.List(fields.Nested(SourceReadV3Schema), required=True)
    estimates = fields.List(fields.Nested(BillingEstimateSchema), required=True)
    true_ups = fields.List(fields.Nested(TrueUpSchema), required=True)


@message("metering.consumption_response.v3", RPC_RESPONSE,
         "v2's response with billing-read estimation: a determinant says which estimated reads it uses (quality "
         "estimated) and which earlier estimates it trues up (the signed difference in HCF, to bill with it).",
         rpc="metering.billing_determinants")
class ConsumptionResponseV3(Schema):
    determinants = fields.List(fields.Nested(DeterminantV3Schema), required=True)
    held = fields.List(fields.Nested(HeldAccountSchema), required=True)
    missing = fields.List(fields.Nested(MissingConsumptionSchema), required=True)


class AccountMeterSchema(Schema):
    serial = fields.String(required=True)
    size = fields.String(required=True, validate=validate.OneOf(METER_SIZES))
    connection_id = fields.String(required=True)
    installed_on = fields.Date(required=True)


class RegisterReadSchema(Schema):
    meter_serial = fields.String(required=True)
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True)  # what the meter, head-end or reader said
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    source = fields.String(required=True, validate=validate.OneOf(READ_SOURCES))


READ_QUALITIES = ("actual", "estimated", "edited", "suspect")


class RegisterReadV2Schema(RegisterReadSchema):
    """v1's read with what billing may use of it: `validated_value` (null while a VEE rule holds the read)
    and its `quality` (edited: a staff correction; the meter's own `value` is kept)."""
    validated_value = Quantity(required=True, allow_none=True)
    quality = fields.String(required=True, validate=validate.OneOf(READ_QUALITIES))


@message("metering.account_reads.v1", RPC_RESPONSE,
         "The meters installed on an account's connection and their latest 100 register reads, newest first.",
         rpc="metering.account_meter_reads")
class AccountReadsSchema(Schema):
    account_id = fields.String(required=True)
    meters = fields.List(fields.Nested(AccountMeterSchema), required=True)
    reads = fields.List(fields.Nested(RegisterReadSchema), required=True)


@message("metering.account_reads.v2", RPC_RESPONSE,
         "v1 with each read's validated value and quality: what the meter said and what billing uses.",
         rpc="metering.account_meter_reads_v2")
class AccountReadsV2Schema(AccountReadsSchema):
    reads = fields.List(fields.Nested(RegisterReadV2Schema), required=True)


class AccountMeterV3Schema(AccountMeterSchema):
    """v1's installation with the day it ended (null while the meter is on the connection)."""
    removed_on = fields.Date(required=True, allow_none=True)


@message("metering.account_reads.v3", RPC_RESPONSE,
         "v2 with each installation's removed_on: which meter is on the connection now and which were exchanged "
         "or removed (newest installation first).", rpc="metering.account_meter_reads_v3")
class AccountReadsV3Schema(AccountReadsV2Schema):
    meters = fields.List(fields.Nested(AccountMeterV3Schema), required=True)


# --- staff search (issue 11) ---------------------------------------------------------------------

@message("metering.find_meters_request.v1", RPC_REQUEST,
         "Find meters by serial or AMI endpoint id (exact, case-insensitive), with the connection each is "
         "installed on and that connection's account.", rpc="metering.find_meters")
class FindMetersRequest(Schema):
    query = fields.String(required=True, validate=validate.Length(min=2, max=100))


class MeterMatchSchema(Schema):
    serial = fields.String(required=True)
    ami_endpoint_id = fields.String(required=True, allow_none=True)
    matched = fields.String(required=True, validate=validate.OneOf(["meter_serial", "ami_endpoint"]))
    status = fields.String(required=True)
    connection_id = fields.String(required=True, allow_none=True)  # null: not installed
    account_id = fields.String(required=True, allow_none=True)  # the open account there, else the last one
    account_status = fields.String(required=True, allow_none=True)
    apn = fields.String(required=True, allow_none=True)
    service_address = fields.String(required=True, allow_none=True)  # one line


@message("metering.meter_matches.v1", RPC_RESPONSE, "The meters a serial or AMI endpoint id names (0, 1 or 2).",
         rpc="metering.find_meters")
class MeterMatchesSchema(Schema):
    meters = fields.List(fields.Nested(MeterMatchSchema), required=True)
