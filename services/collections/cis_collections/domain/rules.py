"""The statutory rules the collections engine applies, each carrying its citation.

Health & Safety Code 116900-116926 (Water Shutoff Protection Act, SB 998 as amended by SB 3)
and Government Code 60370-60375.5 (special districts) both bind the District; where they
differ, the engine takes the stricter date. Every date the engine proposes names the rule that
set it, so staff (and an auditor) can see why.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str        # stable identifier used in actions, blocks and records
    citation: str    # statute section (or "District policy")
    summary: str


def _rule(code: str, citation: str, summary: str) -> Rule:
    return Rule(code, citation, summary)


PAST_DUE_REMINDER = _rule(
    "past_due_reminder", "District policy (H&S 116906 written policy)",
    "A reminder the configured number of days after a bill's due date passes unpaid.")
MIN_60_DAYS_DELINQUENT = _rule(
    "min_60_days_delinquent", "H&S 116908(a)(1)(A)",
    "No discontinuation for nonpayment until a payment has been delinquent for at least 60 days.")
SEVEN_BUSINESS_DAYS_NOTICE = _rule(
    "seven_business_days_notice", "H&S 116908(a)(1)(A)",
    "Contact the customer by telephone or written notice no less than 7 business days before discontinuation.")
NOTICE_CONTENT = _rule(
    "notice_content", "H&S 116908(a)(1)(C)",
    "The written notice states name and address, amount delinquent, date to pay or arrange, how to apply for "
    "an extension, how to petition for bill review and appeal, how to request a deferred, reduced or "
    "alternative payment schedule.")
OCCUPANT_COPY = _rule(
    "occupant_copy", "H&S 116908(a)(1)(C)",
    "When the customer's address is not the service address, the notice also goes to the service address, "
    "addressed to \"Occupant\".")
NOT_BEFORE_19_DAYS_AFTER_BILL = _rule(
    "not_before_19_days_after_bill", "Gov. Code 60373(a)",
    "The termination notice is not mailed earlier than 19 days after the bill was mailed; a notice mailed "
    "earlier does not count.")
TEN_DAYS_AFTER_FIVE_DAY_MAILING = _rule(
    "ten_days_after_five_day_mailing", "Gov. Code 60373",
    "The notice is mailed at least 10 days before termination, the 10 days starting 5 days after mailing.")
FORTY_EIGHT_HOUR_CONTACT = _rule(
    "forty_eight_hour_contact", "Gov. Code 60373; H&S 116908(a)(2)",
    "A good-faith attempt to reach an adult at the premises by phone or in person at least 48 hours before "
    "termination; failing that, a 48-hour notice of imminent discontinuation and the policy left at the premises.")
TENANT_TEN_DAYS = _rule(
    "tenant_ten_days", "H&S 116916; Gov. Code 60371",
    "Where the owner or landlord is the customer of record, the residential occupants are told in writing at "
    "least 10 days before termination that they may become customers without paying the arrears.")
NO_WEEKEND_HOLIDAY_CLOSURE = _rule(
    "no_weekend_holiday_closure", "Gov. Code 60374",
    "No termination on a Saturday, Sunday, legal holiday, or when the District's offices are closed.")
NO_SHUTOFF_DURING_APPEAL = _rule(
    "no_shutoff_during_appeal", "H&S 116908; Gov. Code 60372",
    "No discontinuation while an appeal, bill review or dispute investigation is pending.")
NO_SHUTOFF_DURING_EXTENSION = _rule(
    "no_shutoff_during_extension", "Gov. Code 60372",
    "No termination while an extension of time to pay is in effect.")
MEDICAL_PROTECTION = _rule(
    "medical_protection", "H&S 116910(a)",
    "No discontinuation when a primary care provider certifies a serious threat to health, the customer "
    "cannot pay within the billing cycle, and the customer agrees to an alternative payment arrangement.")
PAYMENT_PLAN_IN_GOOD_STANDING = _rule(
    "payment_plan_in_good_standing", "H&S 116906(a); Gov. Code 60372",
    "No termination while the customer keeps to an amortization, alternative, deferred or reduced payment "
    "plan and stays current.")
PLAN_DEFAULT_60_DAYS = _rule(
    "plan_default_60_days", "H&S 116910(b)",
    "A plan is in default when an installment or the current charges stay unpaid for 60 days or more.")
PLAN_DEFAULT_FINAL_NOTICE = _rule(
    "plan_default_final_notice", "H&S 116910(b)",
    "After a plan default, discontinuation no sooner than 5 business days after a final notice of intent "
    "to disconnect is posted in a prominent and conspicuous place at the property.")
GOV_60372C_REQUEST_WINDOWS = _rule(
    "request_windows", "Gov. Code 60372(c)",
    "A complaint within 5 days of receiving the disputed bill, or a request for an extension within 13 days of "
    "the mailing of the shutoff notice, is reviewed by a review manager (amortization over at most 12 months "
    "considered).")
AMORTIZATION_12_MONTHS = _rule(
    "amortization_12_months", "Gov. Code 60372",
    "An amortized balance is repaid over a period not exceeding 12 months.")
RECONNECTION = _rule(
    "reconnection", "H&S 116912; Gov. Code 60375",
    "Service is restored once the delinquency is paid or arranged; the customer is told how to restore it.")
LOW_INCOME_RECONNECTION_FEE = _rule(
    "low_income_reconnection_fee", "H&S 116914(a)(1)",
    "Low-income reconnection fee at most $50 in operating hours, $150 outside them, never above cost, "
    "adjusted annually for CPI from 1 January 2021.")
RECONNECTION_FEE = _rule(
    "reconnection_fee", "District policy (Board-adopted fees)",
    "The District's cost-based reconnection fee, charged once the meter is unsealed: the normal-hours fee, or "
    "the after-hours fee for work done outside operating hours or on a day the offices are closed.")
LATE_PENALTY = _rule(
    "late_penalty", "District policy (penalties in the Board-adopted rates)",
    "A basic penalty on a bill's current charges the day after it is due unpaid, and a monthly penalty on the "
    "balance past due; billing prices both from the tariff.")
LOW_INCOME_INTEREST_WAIVER = _rule(
    "low_income_interest_waiver", "H&S 116914(a)(2)",
    "Interest (late charges) on delinquent bills waived for a low-income customer once every 12 months.")
ANNUAL_DISCONTINUATION_COUNT = _rule(
    "annual_discontinuation_count", "H&S 116918",
    "The number of annual discontinuations of residential service for inability to pay is reported on the "
    "website and to the State Water Board.")
WRITE_OFF = _rule(
    "write_off", "District policy",
    "A final bill, or any bill of a closed account, unpaid after the configured period is written off as "
    "uncollectible.")
CLOSED_ACCOUNT_FINAL_BILL_PATH = _rule(
    "closed_account_final_bill_path", "District policy (final-bill path)",
    "A closed account's balance follows the final-bill path (final notices to the forwarding address, write-off, "
    "lien or tax roll against the parcel's owner); the connection is never shut off for it, since it may serve "
    "a new customer.")


BY_CODE = {rule.code: rule for rule in list(globals().values()) if isinstance(rule, Rule)}
