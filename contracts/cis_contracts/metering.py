"""Contracts of the metering service: meters, installations, register reads, consumption.

Register readings and consumption are Quantity (decimal strings). Consumption handed to
billing is always in HCF (1 HCF = 100 ft3 = 748.052 US gal).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cis_contracts.fields import Quantity, ZonedDateTime
from cis_contracts.registry import COMMAND, RPC_REQUEST, RPC_RESPONSE, message

METER_SIZES = ("5/8", "3/4", "1", "1.5", "2", "3", "4", "6", "8")
REGISTER_UNITS = ("HCF", "gallons", "cubic_feet")
METER_STATUSES = ("in_stock", "installed")
READ_SOURCES = ("install", "ami", "manual")
AMI_EXCHANGE = "ami.inbound"
MAX_READS_PER_BATCH = 10_000
MAX_ACCOUNTS_PER_CONSUMPTION_REQUEST = 20_000


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


class AccountMeterSchema(Schema):
    serial = fields.String(required=True)
    size = fields.String(required=True, validate=validate.OneOf(METER_SIZES))
    connection_id = fields.String(required=True)
    installed_on = fields.Date(required=True)


class RegisterReadSchema(Schema):
    meter_serial = fields.String(required=True)
    read_at = ZonedDateTime(required=True)
    value = Quantity(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(REGISTER_UNITS))
    source = fields.String(required=True, validate=validate.OneOf(READ_SOURCES))


@message("metering.account_reads.v1", RPC_RESPONSE,
         "The meters installed on an account's connection and their latest 100 register reads, newest first.",
         rpc="metering.account_meter_reads")
class AccountReadsSchema(Schema):
    account_id = fields.String(required=True)
    meters = fields.List(fields.Nested(AccountMeterSchema), required=True)
    reads = fields.List(fields.Nested(RegisterReadSchema), required=True)
