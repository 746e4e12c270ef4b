"""Rules of the read exceptions worklist (which resolution is allowed when, and what it leads to)."""
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from cis_runtime.errors import Conflict

WAITING_FOR_FIELD = ("reread_requested", "meter_check_requested")
STATUS_AFTER = {"accept": "accepted", "edit": "edited", "estimate": "estimated",
                "request_reread": "reread_requested", "request_meter_check": "meter_check_requested"}
FIELD_REQUESTS = ("request_reread", "request_meter_check")
# Findings about a meter over time, not about one reading: accepting one changes no reading.
# A final read for a closing account: accepted once the read is entered (a manual or field read).
NO_READING_RULES = ("prolonged_estimation", "final_read")


def check_resolvable(status: str, action: str, whole_block: bool, rule: str = "") -> None:
    """Open exceptions take any resolution; one waiting for the field can still be settled from the
    office once the re-read or check comes back. Resolved ones are final (a new finding opens a new one)."""
    if status not in ("open",) + WAITING_FOR_FIELD:
        raise Conflict(f"read exception is already {status}")
    if whole_block and action not in FIELD_REQUESTS:
        # An unknown or uninstalled meter's block: fix the inventory and re-send; a field visit may find the meter.
        raise Conflict("this exception holds a whole block (unknown or uninstalled meter, unit mismatch): "
                       "correct the meter record and re-send the readings, or request a meter check")
    if rule in NO_READING_RULES and action in ("edit", "estimate"):
        raise Conflict(f"a {rule} exception has no reading to {action}: enter the field read as a manual read, "
                       "then accept it")


def interpolate(at: datetime, before, after) -> Decimal | None:
    """Linear estimate at `at` from the nearest validated readings (read_at, value) either side."""
    if before is None or after is None:
        return None
    (start, low), (end, high) = before, after
    share = Decimal((at - start).total_seconds()) / Decimal((end - start).total_seconds())
    exponent = min(low.as_tuple().exponent, high.as_tuple().exponent)
    return (low + (high - low) * share).quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP)
