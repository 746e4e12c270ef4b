"""Register reads partitioned by month of read_at, keyed on (meter, register, instant), with raw and
validated values; VEE findings on read exceptions; the partition-making function.

Partitions are created on demand by `ensure_register_read_partition(instant)` (one per UTC month,
named register_reads_pYYYY_MM): no default partition, so adding a month never has to scan one.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENSURE_PARTITION = """
create or replace function ensure_register_read_partition(instant timestamptz) returns text
language plpgsql as $$
declare
    month_start timestamptz := date_trunc('month', instant at time zone 'UTC') at time zone 'UTC';
    partition_name text := 'register_reads_p' || to_char(instant at time zone 'UTC', 'YYYY_MM');
begin
    if to_regclass(partition_name) is not null then
        return partition_name;
    end if;
    -- Two ingesting workers may need the same new month at once: one creates it, the other finds
    -- it there (the advisory lock does not refresh this session's catalog view, hence the handler).
    perform pg_advisory_xact_lock(hashtext(partition_name));
    begin
        execute format('create table %I partition of register_reads for values from (%L) to (%L)',
                       partition_name, month_start, month_start + interval '1 month');
    exception when duplicate_table or unique_violation then
        null;
    end;
    return partition_name;
end $$;
"""


def upgrade():
    op.create_table(
        "register_reads_partitioned",
        sa.Column("meter_serial", sa.Text, nullable=False),
        sa.Column("register", sa.Text, nullable=False, server_default="main"),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("validated_value", sa.Numeric),
        sa.Column("quality", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text),
        postgresql_partition_by="RANGE (read_at)",
    )
    op.execute(ENSURE_PARTITION)
    op.execute("alter table register_reads rename to register_reads_unpartitioned")
    op.execute("alter table register_reads_unpartitioned rename constraint register_reads_one_per_instant "
               "to register_reads_unpartitioned_one_per_instant")
    op.execute("alter table register_reads_partitioned rename to register_reads")
    op.create_primary_key("register_reads_one_per_instant", "register_reads",
                          ["meter_serial", "register", "read_at"])
    op.execute("select ensure_register_read_partition(month) from "
               "(select distinct date_trunc('month', read_at) as month from register_reads_unpartitioned) m")
    op.execute("insert into register_reads (meter_serial, register, read_at, value, unit, validated_value, "
               "quality, source, batch_id) select meter_serial, 'main', read_at, value, unit, value, 'actual', "
               "source, batch_id from register_reads_unpartitioned")
    op.drop_table("register_reads_unpartitioned")

    op.add_column("meters", sa.Column("meter_type", sa.Text, nullable=False, server_default="displacement"))
    op.add_column("meters", sa.Column("multiplier", sa.Numeric, nullable=False, server_default="1"))
    op.add_column("meters", sa.Column("ami_endpoint_id", sa.Text))
    op.add_column("meters", sa.Column("delivers_to_agency", sa.Text))
    op.add_column("meters", sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "meter_tests",
        sa.Column("test_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("serial", sa.Text, sa.ForeignKey("meters.serial"), nullable=False, index=True),
        sa.Column("tested_on", sa.Date, nullable=False),
        sa.Column("tester", sa.Text, nullable=False),
        sa.Column("low_flow_accuracy", sa.Numeric, nullable=False),
        sa.Column("intermediate_flow_accuracy", sa.Numeric, nullable=False),
        sa.Column("high_flow_accuracy", sa.Numeric, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("notes", sa.Text),
    )
    op.create_index("meters_one_per_ami_endpoint", "meters", ["ami_endpoint_id"], unique=True)
    op.create_table(
        "imported_files",
        sa.Column("file_hash", sa.Text, primary_key=True),
        sa.Column("file_format", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("stored_count", sa.Integer, nullable=False),
        sa.Column("held_count", sa.Integer, nullable=False),
        sa.Column("rejected", postgresql.JSONB, nullable=False),
    )
    op.add_column("read_exceptions", sa.Column("register", sa.Text, nullable=False, server_default="main"))
    op.add_column("read_exceptions", sa.Column("rule", sa.Text, nullable=False, server_default="unknown_meter"))
    op.add_column("read_exceptions", sa.Column("details", postgresql.JSONB))
    op.add_column("read_exceptions", sa.Column("status", sa.Text, nullable=False, server_default="open"))
    op.alter_column("read_exceptions", "value", nullable=True)
    op.create_index("read_exceptions_by_status", "read_exceptions", ["status", "exception_id"])
    op.create_table(
        "read_exception_resolutions",
        sa.Column("resolution_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("exception_id", sa.BigInteger, sa.ForeignKey("read_exceptions.exception_id"), nullable=False,
                  index=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("resolved_by", sa.Text, nullable=False),
        sa.Column("resolved_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("old_value", sa.Numeric),
        sa.Column("new_value", sa.Numeric),
        sa.Column("old_status", sa.Text, nullable=False),
        sa.Column("new_status", sa.Text, nullable=False),
        sa.Column("work_order_id", sa.Text),
    )
    op.create_table(
        "manual_reads",
        sa.Column("manual_read_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("meter_serial", sa.Text, nullable=False, index=True),
        sa.Column("register", sa.Text, nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("reader", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("entered_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("installations", sa.Column("removed_by", sa.Text))
    op.add_column("installations", sa.Column("removal_reason", sa.Text))
    op.add_column("service_accounts", sa.Column("service_address", sa.Text))
    op.add_column("service_accounts", sa.Column("apn", sa.Text))
    op.execute("update read_exceptions set rule = case reason when 'unknown meter' then 'unknown_meter' "
               "when 'meter not installed' then 'meter_not_installed' else 'read_before_installation' end")


def downgrade():
    op.drop_column("installations", "removal_reason")
    op.drop_column("installations", "removed_by")
    op.drop_table("manual_reads")
    op.drop_column("service_accounts", "apn")
    op.drop_column("service_accounts", "service_address")
    op.drop_table("read_exception_resolutions")
    op.drop_index("read_exceptions_by_status", "read_exceptions")
    op.drop_column("read_exceptions", "status")
    op.drop_table("imported_files")
    op.drop_index("meters_one_per_ami_endpoint", "meters")
    op.drop_table("meter_tests")
    for column in ("locked", "delivers_to_agency", "ami_endpoint_id", "multiplier", "meter_type"):
        op.drop_column("meters", column)
    op.drop_column("read_exceptions", "details")
    op.drop_column("read_exceptions", "rule")
    op.drop_column("read_exceptions", "register")
    op.drop_table("register_reads")
    op.execute("drop function ensure_register_read_partition(timestamptz)")
