"""Reference data shipped with the service: the District calendar (one JSON file per year) and the CPI series."""
import json
from functools import lru_cache
from pathlib import Path

from cis_collections.domain.calendar import DistrictCalendar

DATA = Path(__file__).resolve().parent.parent / "data"


@lru_cache(maxsize=1)
def district_calendar(folder: str = str(DATA / "calendar")) -> DistrictCalendar:
    documents = [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))]
    return DistrictCalendar.from_year_documents(documents)


@lru_cache(maxsize=1)
def cpi_series(path: str = str(DATA / "cpi.json")) -> dict:
    return json.loads(Path(path).read_text())


@lru_cache(maxsize=1)
def collections_policy():
    """The Board's collections policy: defaults, overridden by CIS_COLLECTIONS_POLICY (a JSON object of settings).
    A setting below a statutory minimum stops the service at start-up with the setting's name."""
    from cis_collections.domain.policy import CollectionsPolicy
    from cis_runtime import config
    return CollectionsPolicy.from_settings(json.loads(config.env("CIS_COLLECTIONS_POLICY", "{}")))
