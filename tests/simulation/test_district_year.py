"""A seeded district year through the real processes, broker and databases (issue 9).

Size and seed from the environment: CIS_SIM_ACCOUNTS (default 1000), CIS_SIM_DAYS (default 396),
CIS_SIM_SEED (default 20260701). The report is printed (run pytest with -s to see it as it goes) and
written to CIS_SIM_REPORT if set. Fails naming the first violation: day, account, what.
"""
import os

import pytest

from sim_report import first_violation, run_district

ACCOUNTS = int(os.environ.get("CIS_SIM_ACCOUNTS", "1000"))
DAYS = int(os.environ.get("CIS_SIM_DAYS", "396"))
SEED = int(os.environ.get("CIS_SIM_SEED", "20260701"))


@pytest.mark.timeout(max(900, DAYS * 6 + ACCOUNTS))
def test_a_district_year_keeps_money_water_and_the_shutoff_law_right(tmp_path, capsys):
    def log(text):
        with capsys.disabled():
            print(text, flush=True)

    simulation = run_district(ACCOUNTS, DAYS, SEED, tmp_path, log=log)
    log(simulation.report_text)
    if os.environ.get("CIS_SIM_REPORT"):
        with open(os.environ["CIS_SIM_REPORT"], "w") as out:
            out.write(simulation.report_text + "\n")
    first = first_violation(simulation)
    assert first is None, f"first violation: {first}\n\n{simulation.report_text}"
