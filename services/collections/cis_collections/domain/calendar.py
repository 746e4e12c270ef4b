"""The District's business calendar: weekends, California legal holidays, office closures.

The holidays and closures are data (one JSON file per year, read by an adapter); the rule here
is only how to count business days over them. A date in a year the calendar has no data for is
an error, never silently treated as a business day: a shutoff date depends on it (Gov. Code 60374).
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from cis_runtime.errors import InvalidInput

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DistrictCalendar:
    years: frozenset[int]
    closed: dict[date, str] = field(default_factory=dict)  # legal holidays and District closures, with names

    @classmethod
    def from_year_documents(cls, documents: list[dict]) -> "DistrictCalendar":
        years, closed = set(), {}
        for document in documents:
            year = int(document["year"])
            for section in ("legal_holidays", "district_closures"):
                for day, name in document.get(section, {}).items():
                    parsed = date.fromisoformat(day)
                    if parsed.year != year:
                        raise InvalidInput({section: [f"{day} ({name}) is not in the calendar year {year}."]})
                    closed[parsed] = name
            years.add(year)
        return cls(frozenset(years), closed)

    def _check_covered(self, day: date) -> None:
        if day.year not in self.years:
            raise InvalidInput({"calendar": [
                f"No District calendar for {day.year}: add data/calendar/{day.year}.json."]})

    def closure_reason(self, day: date) -> str | None:
        """Why the District does not work on `day`, or None for a business day."""
        self._check_covered(day)
        if day.weekday() >= 5:
            return "Saturday" if day.weekday() == 5 else "Sunday"
        return self.closed.get(day)

    def is_business_day(self, day: date) -> bool:
        return self.closure_reason(day) is None

    def business_day_on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += ONE_DAY
        return day

    def business_day_on_or_before(self, day: date) -> date:
        while not self.is_business_day(day):
            day -= ONE_DAY
        return day

    def add_business_days(self, start: date, count: int) -> date:
        """The `count`-th business day after `start` (start itself not counted)."""
        day = start
        while count > 0:
            day += ONE_DAY
            if self.is_business_day(day):
                count -= 1
        return day

    def business_days_between(self, earlier: date, later: date) -> int:
        """Business days after `earlier` up to and including `later`."""
        count, day = 0, earlier
        while day < later:
            day += ONE_DAY
            if self.is_business_day(day):
                count += 1
        return count
