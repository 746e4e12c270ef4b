"""Drive the collections engine through a whole story, one business date at a time.

Each day the story applies the customer's and staff's events scheduled for that day, asks the
engine for its decision and carries out every action due (recording it as the service would).
A contact attempt is a staff task: the story records its outcome as `reach_adult` says. A notice
counts once given: the mail house mails a letter `mail_days` after it is requested, field staff
post a door hanger `posting_days` after it is ordered (0: the same day).
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable

from cis_collections.adapters.reference_data import district_calendar
from cis_collections.domain import engine
from cis_collections.domain.engine import AccountState, Bill, ContactAttempt, record_done
from cis_collections.domain.policy import CollectionsPolicy

ONE_DAY = timedelta(days=1)


def d(text: str) -> date:
    return date.fromisoformat(text)


def bill(bill_id="B1", amount="64.55", issued_on="2026-04-02", due_on="2026-04-23", **kwargs) -> Bill:
    return Bill(bill_id, Decimal(amount), d(issued_on), d(due_on), **kwargs)


def account(*bills: Bill, **kwargs) -> AccountState:
    defaults = dict(customer_name="Ana Flores", mailing_address="12 Elm St", service_address="12 Elm St")
    defaults.update(kwargs)
    return AccountState("A0000001", bills=list(bills) or [bill()], **defaults)


def pay_all(state: AccountState) -> None:
    for b in state.bills:
        b.paid = b.amount


@dataclass
class Story:
    state: AccountState
    today: date
    policy: CollectionsPolicy = field(default_factory=CollectionsPolicy)
    reach_adult: bool = True
    mail_days: int = 0
    posting_days: int = 0
    events: dict[date, list[Callable[[AccountState], None]]] = field(default_factory=dict)
    done: list[tuple[date, str, str]] = field(default_factory=list)  # (day, action kind, rule code)
    shutoff_states: list[tuple[date, AccountState]] = field(default_factory=list)
    given: list[tuple[date, str]] = field(default_factory=list)  # (day mailed or posted, notice kind)
    actions_done: list[tuple[date, engine.Action]] = field(default_factory=list)
    calendar = district_calendar()

    def on(self, day: str | date, event: Callable[[AccountState], None]) -> "Story":
        self.events.setdefault(d(day) if isinstance(day, str) else day, []).append(event)
        return self

    def decide(self, day: date | None = None) -> engine.Decision:
        return engine.decide(self.state, day or self.today, self.calendar, self.policy)

    def run_until(self, last_day: str | date) -> "Story":
        last_day = d(last_day) if isinstance(last_day, str) else last_day
        while self.today <= last_day:
            self._one_day(self.today)
            self.today += ONE_DAY
        self.today = last_day
        return self

    def _one_day(self, day: date) -> None:
        for event in self.events.pop(day, []):
            event(self.state)
        for action in self.decide(day).due_actions(day):
            if action.kind == engine.CONTACT_ATTEMPT:
                self.state.contact_attempts.append(ContactAttempt(day, self.reach_adult))
            else:
                if action.kind == engine.SHUTOFF:
                    self.shutoff_states.append((day, _snapshot(self.state)))
                reference = f"N-{day}-{action.kind}"
                record_done(self.state, action, day, reference=reference)
                self._give(action.kind, reference, day)
            self.done.append((day, action.kind, action.rule.code))
            self.actions_done.append((day, action))

    def _give(self, kind: str, reference: str, requested_on: date) -> None:
        if kind not in engine.MAILED_NOTICES + engine.POSTED_NOTICES:
            return
        delay = self.mail_days if kind in engine.MAILED_NOTICES else self.posting_days
        given_on = requested_on + timedelta(days=delay)

        def give(state: AccountState) -> None:
            if engine.record_given(state, kind, reference, requested_on, given_on):
                self.given.append((given_on, kind))
        if delay == 0:
            give(self.state)
        else:
            self.on(given_on, give)

    def days_of(self, kind: str) -> list[date]:
        return [day for day, done_kind, _ in self.done if done_kind == kind]


def _snapshot(state: AccountState) -> AccountState:
    import copy
    return copy.deepcopy(state)
