"""District collections policy: the choices the law leaves to the Board, with the law's floors.

A policy below a statutory minimum is rejected with a message naming the setting, so a
misconfiguration can never make the engine schedule an unlawful shutoff.
"""
from dataclasses import dataclass, fields
from datetime import time
from decimal import Decimal
from typing import NamedTuple

from cis_runtime.errors import InvalidInput

# Statutory floors (the citation is on the matching rule in rules.py).
STATUTORY_MIN_DAYS_DELINQUENT = 60          # H&S 116908(a)(1)(A)
STATUTORY_MIN_NOTICE_BUSINESS_DAYS = 7      # H&S 116908(a)(1)(A)
STATUTORY_MIN_DAYS_AFTER_BILL_TO_MAIL = 19  # Gov. Code 60373
STATUTORY_MAIL_GRACE_DAYS = 5               # Gov. Code 60373: the 10 days start 5 days after mailing
STATUTORY_MIN_NOTICE_DAYS_AFTER_GRACE = 10  # Gov. Code 60373
STATUTORY_MIN_CONTACT_HOURS = 48            # Gov. Code 60373
STATUTORY_MIN_TENANT_NOTICE_DAYS = 10       # H&S 116916; Gov. Code 60371
STATUTORY_MIN_PLAN_DEFAULT_DAYS = 60        # H&S 116910(b)
STATUTORY_MIN_FINAL_NOTICE_BUSINESS_DAYS = 5  # H&S 116910(b)
STATUTORY_MAX_AMORTIZATION_MONTHS = 12      # Gov. Code 60372
STATUTORY_INTEREST_WAIVER_MONTHS = 12       # H&S 116914(a)(2)

REQUIRED_NOTICE_TEXTS = ("extension_process", "bill_review_process", "alternative_payment_process",
                         "policy_url", "phone")


class OperatingHours(NamedTuple):
    start: time
    end: time


@dataclass(frozen=True)
class CollectionsPolicy:
    reminder_days_after_due: int = 1
    monthly_penalty_after_days: int = 30  # a balance this long past due draws the monthly penalty
    days_delinquent_before_shutoff: int = 60
    shutoff_notice_days_after_due: int = 30      # when the District mails the written shutoff notice
    notice_business_days_before_shutoff: int = 7
    contact_business_days_before_shutoff: int = 3  # when staff try to reach an adult
    tenant_notice_days_before_shutoff: int = 10
    plan_default_days: int = 60
    final_notice_business_days_before_shutoff: int = 5
    max_amortization_months: int = 12
    minimum_shutoff_amount: Decimal = Decimal("0.01")
    write_off_days_after_final_due: int = 180
    reconnection_fee_normal_hours: Decimal = Decimal("75.00")   # the District's cost-based fee
    reconnection_fee_after_hours: Decimal = Decimal("200.00")
    # Operating hours (District local time) on business days; a reconnection done outside them is after hours.
    operating_hours_start: str = "08:00"
    operating_hours_end: str = "17:00"
    extension_process: str = "Call or write to the District before the date above to ask for more time to pay."
    bill_review_process: str = "Ask in writing for a review of your bill; no shutoff while the review is pending."
    alternative_payment_process: str = ("Ask for an amortization, alternative, deferred or reduced payment "
                                        "schedule.")
    policy_url: str = "https://district.example/shutoff-policy"
    phone: str = "(555) 010-0100"

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise InvalidInput(problems)

    def problems(self) -> dict[str, list[str]]:
        checks = [
            ("days_delinquent_before_shutoff", STATUTORY_MIN_DAYS_DELINQUENT, "H&S 116908(a)(1)(A)"),
            ("notice_business_days_before_shutoff", STATUTORY_MIN_NOTICE_BUSINESS_DAYS, "H&S 116908(a)(1)(A)"),
            ("tenant_notice_days_before_shutoff", STATUTORY_MIN_TENANT_NOTICE_DAYS, "H&S 116916 / Gov. Code 60371"),
            ("plan_default_days", STATUTORY_MIN_PLAN_DEFAULT_DAYS, "H&S 116910(b)"),
            ("final_notice_business_days_before_shutoff", STATUTORY_MIN_FINAL_NOTICE_BUSINESS_DAYS,
             "H&S 116910(b)"),
            ("shutoff_notice_days_after_due", 0, "policy"),
            ("reminder_days_after_due", 1, "a bill is past due only after its due date"),
            ("write_off_days_after_final_due", 1, "policy"),
            ("monthly_penalty_after_days", 1, "policy"),
        ]
        problems = {name: [f"{name} must be at least {minimum} ({why}); got {getattr(self, name)}."]
                    for name, minimum, why in checks if getattr(self, name) < minimum}
        # Two business days before the shutoff day is always at least 48 hours (Gov. Code 60373).
        if self.contact_business_days_before_shutoff < 2:
            problems["contact_business_days_before_shutoff"] = [
                "contact_business_days_before_shutoff must be at least 2 so the attempt is >= 48 hours before "
                f"termination (Gov. Code 60373); got {self.contact_business_days_before_shutoff}."]
        if not 1 <= self.max_amortization_months <= STATUTORY_MAX_AMORTIZATION_MONTHS:
            problems["max_amortization_months"] = [
                f"max_amortization_months must be 1 to 12 (Gov. Code 60372); got {self.max_amortization_months}."]
        for name in ("minimum_shutoff_amount", "reconnection_fee_normal_hours",
                     "reconnection_fee_after_hours"):
            if Decimal(getattr(self, name)) < 0:
                problems[name] = [f"{name} cannot be negative; got {getattr(self, name)}."]
        problems.update(self._operating_hours_problems())
        for name in REQUIRED_NOTICE_TEXTS:
            if not str(getattr(self, name)).strip():
                problems[name] = [f"{name} is printed on every shutoff notice (H&S 116908(a)(1)(C)) and "
                                  "cannot be empty."]
        return problems

    def _operating_hours_problems(self) -> dict[str, list[str]]:
        problems = {}
        for name in ("operating_hours_start", "operating_hours_end"):
            try:
                time.fromisoformat(getattr(self, name))
            except ValueError:
                problems[name] = [f"{name} is a time of day as HH:MM; got {getattr(self, name)!r}."]
        if not problems and self.operating_hours().start >= self.operating_hours().end:
            problems["operating_hours_end"] = ["operating_hours_end must be after operating_hours_start."]
        return problems

    def operating_hours(self) -> "OperatingHours":
        return OperatingHours(time.fromisoformat(self.operating_hours_start),
                              time.fromisoformat(self.operating_hours_end))

    @classmethod
    def from_settings(cls, settings: dict) -> "CollectionsPolicy":
        """Build from configuration (strings allowed); unknown settings are rejected by name."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise InvalidInput({name: ["Unknown collections policy setting."] for name in unknown})
        converted = {}
        for name, value in settings.items():
            default = getattr(cls, name)
            try:
                converted[name] = type(default)(value) if not isinstance(default, str) else str(value)
            except (ArithmeticError, ValueError, TypeError):
                raise InvalidInput({name: [f"{value!r} is not a valid {type(default).__name__}."]}) from None
        return cls(**converted)
