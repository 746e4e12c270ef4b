"""Billing determinants as metering.billing_determinants (v3) answers them, for bill-run tests."""
from decimal import Decimal


def determinant(account_id: str, consumption: str, true_ups: list[str] = ()) -> dict:
    """An actual reading of `consumption` HCF on a 5/8" meter over March 2026; each true-up is the
    signed difference an earlier estimate is corrected by."""
    return {"account_id": account_id, "meter_serial": f"M-{account_id}", "meter_size": "5/8",
            "start_read": "100", "start_read_at": "2026-03-01T00:00:00-08:00",
            "end_read": str(Decimal("100") + Decimal(consumption)), "end_read_at": "2026-03-31T23:00:00-07:00",
            "consumption": consumption, "unit": "HCF", "quality": "actual", "source_reads": [], "estimates": [],
            "true_ups": [{"estimate_id": n, "register": "main", "estimated_read_at": "2026-03-01T00:00:00-08:00",
                          "estimated_value": "100", "actual_value": str(100 + Decimal(d)), "unit": "HCF",
                          "how_known": "the actual read there", "difference": d} for n, d in enumerate(true_ups)]}


def every_account_used(consumption: str):
    """A metering stand-in answering `consumption` HCF for every account asked."""
    def answer(request: dict) -> dict:
        return {"determinants": [determinant(a, consumption) for a in request["account_ids"]],
                "held": [], "missing": []}
    return answer
