"""The release audit on rankability and on coverage beside the value (decision 0022), on small
publications in an in-memory DuckDB:

- why ρ is computed from the funnel's published units only: over all units, a hidden unit in the
  middle of the median gives its denominator back exactly from ρ, τ² and θ₀;
- the audit refuses such a ρ, and a coverage, completeness or flag beside a hidden value.
"""

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from regbench.disclosure.release_audit import KNOWN_TABLES, audit_release, cross_table

THETA = 0.6
PUBLISHED_N = [40, 55, 70, 120, 150, 300]
HIDDEN_N = 90  # its cell is hidden (say its complement is 1..4); it sorts into the middle
TAU2 = 0.004


def _rho(ns: list[int]) -> tuple[float, float]:
    s2 = THETA * (1 - THETA) / np.array(ns, float)
    med = float(np.median(s2))
    return TAU2 / (TAU2 + med), med


def _publication(rho: float, median_s2: float, hidden_coverage: bool = False):
    """A release with one funnel (year 2025, units F0.. published) and an overview of a hidden
    unit U0 and a published unit U1."""
    values = [("x|unit|U0|", "unit", "U0", "SE-AB", "rolling_12m", date(2025, 11, 1), None, None,
               True),
              ("x|unit|U1|", "unit", "U1", "SE-AB", "rolling_12m", date(2025, 11, 1), 30, 40,
               False),
              ("x|national||", "national", None, None, "year", date(2025, 1, 1), 600, 1000, False)]
    values += [(f"x|unit|F{i}|", "unit", f"F{i}", "SE-AB", "year", date(2025, 1, 1),
                n // 2, n, False) for i, n in enumerate(PUBLISHED_N)]
    v = pd.DataFrame(values, columns=["value_key", "level", "unit_id", "region_code",
                                      "period_grain", "period_start", "numerator", "denominator",
                                      "suppressed"])
    v = v.assign(registry_id="r", indicator_id="x", rate=v["numerator"] / v["denominator"])
    funnel = v[(v.period_grain == "year") & (v.level == "unit")].assign(theta0=THETA, tau2=TAU2)
    rank = pd.DataFrame([{"registry_id": "r", "indicator_id": "x", "period_grain": "year",
                          "period_start": date(2025, 1, 1), "n_units": len(PUBLISHED_N),
                          "tau2": TAU2, "median_s2": median_s2, "rankability": rho}])
    coverage = pd.DataFrame([("r", "unit", u, "SE-AB", 2026, 0.9, False) for u in ["U0", "U1"]],
                            columns=["registry_id", "level", "unit_id", "region_code",
                                     "event_year", "coverage", "suppressed"])
    ov = v[v.period_grain == "rolling_12m"].copy()
    ov["rate_text"] = np.where(ov.suppressed, "..", "75 %")
    ov["denominator_text"] = np.where(ov.denominator.isna(), "..", "40")
    ov["rate"] = ov["rate"].where(~ov.suppressed)
    ov["coverage_pct"] = np.where(ov.suppressed & (not hidden_coverage), None, 90.0)
    ov["coverage_year"] = 2026
    ov["completeness_pct"] = None
    ov["missing_could_change_level"] = np.where(ov.suppressed, None, False)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA publication")
    for name, frame in {"pub_indicator_values": v, "pub_funnel": funnel, "pub_rankability": rank,
                        "pub_coverage": coverage, "pub_indicator_overview": ov}.items():
        con.register("frame", frame)
        con.execute(f"CREATE TABLE publication.{name} AS SELECT * FROM frame")
        con.unregister("frame")
    return lambda sql: con.execute(sql).df()


TABLES = ["pub_indicator_values", "pub_funnel", "pub_rankability", "pub_coverage",
          "pub_indicator_overview"]


def test_a_rho_over_every_unit_gives_the_hidden_units_denominator_back():
    rho, _ = _rho(PUBLISHED_N + [HIDDEN_N])
    # what a reader has: ρ, τ² and θ₀ (pub_funnel); seven units, the hidden one is the median
    median_s2 = TAU2 * (1 - rho) / rho
    assert round(THETA * (1 - THETA) / median_s2) == HIDDEN_N


def test_the_audit_knows_pub_rankability_and_accepts_it_from_the_published_units():
    rho, med = _rho(PUBLISHED_N)
    assert "pub_rankability" in KNOWN_TABLES
    read = _publication(rho, med)
    assert cross_table(read, set(TABLES)) == []
    assert [f for f in audit_release(read, TABLES, k=5) if f.table == "pub_rankability"] == []


def test_the_audit_refuses_a_rho_that_holds_a_hidden_unit():
    rho, med = _rho(PUBLISHED_N + [HIDDEN_N])
    findings = cross_table(_publication(rho, med), set(TABLES))
    assert [(f.table, f.cell) for f in findings] == [("pub_rankability", "x year 2025-01-01")]
    assert "published units" in findings[0].route


def test_the_audit_refuses_a_coverage_beside_a_hidden_value():
    rho, med = _rho(PUBLISHED_N)
    findings = cross_table(_publication(rho, med, hidden_coverage=True), set(TABLES))
    assert [(f.table, f.cell) for f in findings] == [("pub_indicator_overview", "x unit U0")]
