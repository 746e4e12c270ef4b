"""District data files shipped with metering (cis_metering/data/), read once per process."""
import json
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from cis_metering.domain.ceilings import CeilingTable


@lru_cache(maxsize=1)
def consumption_ceilings() -> CeilingTable:
    """data/consumption_ceilings.json: the meter ratings (gpm by size) and per-class daily ceilings."""
    data = json.loads(resources.files("cis_metering").joinpath("data/consumption_ceilings.json").read_text())

    def figures(table: dict) -> dict:
        return {key: None if value is None else Decimal(value) for key, value in table.items()
                if not key.startswith("_")}
    return CeilingTable(meter_gpm=figures(data["meter_max_continuous_gpm"]),
                        class_hcf_per_day=figures(data["class_max_hcf_per_day"]),
                        per_dwelling_unit=frozenset(data["per_dwelling_unit"]),
                        meter_source=data["meter_max_continuous_gpm"]["_source"])
