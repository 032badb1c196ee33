"""Rankability and coverage beside the value (issue 20), on DuckDB and on PostgreSQL, against an
independent computation in numpy on inputs regbench has not seen:

- rankability ρ = τ² / (τ² + median s_i²) per indicator and period (Lingsma et al. 2010), with τ²
  and s_i² = θ₀(1 − θ₀)/n_i as the funnel estimates them, from the published units only, to
  1e-12; `rankable` is ρ ≥ the threshold, checked on both sides of 0.5 and at the threshold
  itself;
- coverage and completeness beside each value of pub_indicator_overview, and whether the missing
  cases (the reference register's cases the registry lacks) could change the target level:
  the value recomputed with them all met or all not met, on either side of a target boundary;
  all NULL when the value is hidden.

As in test_statistics_sql.py, each parent is written directly (the models read them by name):
marts.disclosed_indicator_values for the funnel, publication.pub_indicator_values and
publication.pub_coverage (what the disclosure layer publishes) and ops.dq_results (the
warehouse checks) for the overview.
"""

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from two_builds import use_var

from regbench.config import get_settings
from regbench.disclosure import policy
from regbench.transform import run_dbt
from regbench.warehouse import Warehouse

pytestmark = [pytest.mark.slow]

TOL = 1e-12
YEAR = date(2025, 1, 1)
THRESHOLD = 0.5


# ---------------------------------------------------------------- rankability inputs

def _value(indicator, level, unit, y, n, hidden=False) -> dict:
    return {"registry_id": "test", "indicator_id": indicator, "level": level, "unit_id": unit,
            "region_code": "SE-AB" if unit else None, "period_grain": "year",
            "period_start": YEAR, "numerator": None if hidden else y,
            "denominator": None if hidden else n, "rate": None if hidden else y / n,
            "suppressed": hidden}


def _funnel(units: list[tuple[int, int]], hidden: list[tuple[int, int]] = ()):
    """(φ, τ², median s², ρ) as fct_funnel and Lingsma et al. define them, in numpy; θ₀ is the
    national rate, hidden units included."""
    n = np.array([u[0] for u in units], float)
    y = np.array([u[1] for u in units], float)
    theta = (y.sum() + sum(h[1] for h in hidden)) / (n.sum() + sum(h[0] for h in hidden))
    s2 = theta * (1 - theta) / n
    z = (y / n - theta) / np.sqrt(s2)
    lo, hi = np.percentile(z, [10, 90])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    i, w = len(z), 1 / s2
    tau2 = ((i * phi - (i - 1)) / (w.sum() - (w ** 2).sum() / w.sum())
            if i * phi > i - 1 and i > 1 else 0.0)
    med = float(np.median(s2))
    return phi, tau2, med, tau2 / (tau2 + med)


def _edge_groups() -> dict[str, list[tuple[int, int]]]:
    """Two sets of 21 units whose ρ lies just below and just above 0.5: the rates spread around
    0.7 by a factor found by bisection."""
    rng = np.random.default_rng(20)
    n = rng.integers(60, 400, 21)
    u = rng.standard_normal(21)

    def units(sd):
        return [(int(k), int(round(k * min(0.98, max(0.02, 0.7 + sd * e)))))
                for k, e in zip(n, u, strict=True)]

    lo, hi = 0.0, 0.4
    assert _funnel(units(lo))[3] < 0.5 <= _funnel(units(hi))[3]
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _funnel(units(mid))[3] < 0.5 else (lo, mid)
    below, above = units(lo), units(hi)
    assert 0.45 < _funnel(below)[3] < 0.5 - 1e-9 and 0.5 <= _funnel(above)[3] < 0.55
    return {"edge_below": below, "edge_above": above}


def _rank_groups() -> dict[str, list[tuple[int, int]]]:
    rng = np.random.default_rng(2020)
    return {
        # far apart: τ² > 0 and ρ near 1
        "spread": [(int(k), int(rng.binomial(k, p))) for k, p in
                   zip(rng.integers(40, 900, 31), rng.uniform(0.3, 0.95, 31), strict=True)],
        # all at the same rate: no overdispersion, τ² = 0, ρ = 0
        "tight": [(k, round(0.6 * k)) for k in rng.integers(40, 900, 12).tolist()],
        # an even number of units: the median is the mean of the middle two
        "even": [(int(k), int(rng.binomial(k, p))) for k, p in
                 zip(rng.integers(20, 300, 10), rng.uniform(0.5, 0.8, 10), strict=True)],
        "single": [(150, 90)],
        **_edge_groups(),
    }


# hidden units (their cells NULL, as the disclosure layer publishes them): part of the national
# count, never of τ² or ρ
HIDDEN = {"spread": [(3, 1), (40, 2)], "even": [(2, 2)]}


def _rank_values(groups) -> pd.DataFrame:
    rows = []
    for ind, units in groups.items():
        for i, (n, y) in enumerate(units):
            rows.append(_value(ind, "unit", f"U{i:02d}", y, n))
        hidden = HIDDEN.get(ind, [])
        for j, _ in enumerate(hidden):
            rows.append(_value(ind, "unit", f"H{j:02d}", None, None, hidden=True))
        every = units + hidden
        rows.append(_value(ind, "national", None, sum(y for _, y in every),
                           sum(n for n, _ in every)))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- overview inputs

PERIOD = (date(2025, 11, 1), date(2026, 10, 31))
# indicator: (direction, high, low), as in seeds/indicators.csv
TARGETS = {"munhalsa": ("higher", 0.9, 0.9), "avf_vid_hd_start": ("higher", 0.6, 0.4),
           "aaa_mort_30d": ("lower", 0.03, 0.03)}
REGISTRY = {"munhalsa": "palliativ", "avf_vid_hd_start": "njur", "aaa_mort_30d": "swedvasc"}

# (indicator, unit, numerator, denominator, hidden): the cases
VALUES = [
    ("munhalsa", "P1", 92, 100, False),   # high; 95 % coverage: 0.874 if all missing unmet
    ("munhalsa", "P2", 198, 200, False),  # high; 99 %: 0.980 .. 0.990, stays high
    ("munhalsa", "P3", 40, 50, False),    # low; coverage 2025 only (none for 2026)
    ("munhalsa", "P4", 30, 40, False),    # its 2026 coverage cell is hidden
    ("munhalsa", "P5", None, None, True),  # value hidden: every new column NULL
    ("munhalsa", "P6", 10, 12, False),    # no coverage at all
    ("avf_vid_hd_start", "N1", 50, 100, False),  # between; 90 %: 0.45 .. 0.55, stays between
    ("avf_vid_hd_start", "N2", 50, 100, False),  # between; 70 %: 0.35 .. 0.65, crosses both
    ("avf_vid_hd_start", "N3", 65, 100, False),  # high; 93 %: 0.6045 .. 0.6745, stays high
    ("aaa_mort_30d", "S1", 2, 100, False),  # lower is better: high; 97 %: up to 0.0494 > 0.03
    ("aaa_mort_30d", "S2", 1, 200, False),  # high; 99 %: 0.00495 .. 0.01495, stays high
]
# (registry, level, unit or region, year, coverage as pub_coverage shows it, hidden)
COVERAGE = [
    ("palliativ", "unit", "P1", 2026, 0.95, False), ("palliativ", "unit", "P1", 2025, 0.50, False),
    ("palliativ", "unit", "P2", 2026, 0.99, False),
    ("palliativ", "unit", "P3", 2025, 0.97, False), ("palliativ", "unit", "P3", 2024, 0.2, False),
    ("palliativ", "unit", "P4", 2026, None, True), ("palliativ", "unit", "P4", 2025, 0.9, False),
    ("palliativ", "unit", "P5", 2026, 0.8, False),
    ("palliativ", "region", "SE-AB", 2026, 0.93, False),
    ("njur", "unit", "N1", 2026, 0.90, False), ("njur", "unit", "N2", 2026, 0.70, False),
    ("njur", "unit", "N3", 2026, 0.93, False),
    ("njur", "region", "SE-AB", 2026, 0.81, False),
    ("swedvasc", "unit", "S1", 2026, 0.97, False), ("swedvasc", "unit", "S2", 2026, 0.99, False),
    ("swedvasc", "region", "SE-AB", 2026, None, True),
]
# completeness (missing values per variable) of two warehouse runs; the latest counts, and only
# the variables whose share pub_ops_unit_findings shows: at least k = 5 missing and k present
LAST_RUN, EARLIER_RUN = datetime(2026, 11, 24, 2), datetime(2026, 11, 23, 2)
K = 5
MISSING = [  # (registry, unit, variable, missing, registrations, run)
    ("palliativ", "P1", "a", 25, 1000, LAST_RUN), ("palliativ", "P1", "b", 124, 1000, LAST_RUN),
    ("palliativ", "P1", "c", 3, 1000, LAST_RUN),     # too few missing: no share
    ("palliativ", "P1", "d", 998, 1000, LAST_RUN),   # too few present: no share
    ("palliativ", "P1", "b", 500, 1000, EARLIER_RUN),
    ("palliativ", "P2", "a", 0, 1000, LAST_RUN), ("palliativ", "P2", "b", 5, 1000, LAST_RUN),
    ("palliativ", "P5", "a", 100, 1000, LAST_RUN),
    ("njur", "N1", "a", 3333, 10000, LAST_RUN),
    ("njur", "N2", "a", 4, 500, LAST_RUN),           # no share shown: no completeness
]


def _level(rate, ind):
    direction, high, low = TARGETS[ind]
    if direction == "higher":
        return "high" if rate >= high else "between" if rate >= low else "low"
    return "high" if rate <= high else "between" if rate <= low else "low"


def _pub_values() -> pd.DataFrame:
    rows = []
    for ind, unit, y, n, hidden in VALUES:
        rows.append({"level": "unit", "unit_id": unit, "region_code": "SE-AB", "indicator_id": ind,
                     "numerator": y, "denominator": n, "suppressed": hidden})
    for ind in TARGETS:
        mine = [v for v in VALUES if v[0] == ind]
        y, n = sum(v[2] or 0 for v in mine) + 7, sum(v[3] or 0 for v in mine) + 9
        rows += [{"level": "region", "unit_id": None, "region_code": "SE-AB", "indicator_id": ind,
                  "numerator": y, "denominator": n, "suppressed": False},
                 {"level": "national", "unit_id": None, "region_code": None, "indicator_id": ind,
                  "numerator": y, "denominator": n, "suppressed": False}]
    frame = pd.DataFrame(rows)
    frame["registry_id"] = frame["indicator_id"].map(REGISTRY)
    frame["indicator_name_sv"] = frame["indicator_name_en"] = frame["indicator_id"]
    frame["unit_name"] = frame["unit_id"]
    frame["period_grain"] = "rolling_12m"
    frame["period_start"], frame["period_end"] = PERIOD
    frame["value_key"] = (frame["indicator_id"] + "|" + frame["level"] + "|"
                          + frame["unit_id"].fillna("") + "|" + frame["region_code"].fillna(""))
    frame["rate"] = frame["numerator"] / frame["denominator"]
    frame["ci_low"], frame["ci_high"] = frame["rate"] - 0.01, frame["rate"] + 0.01
    frame["target_level"] = [None if pd.isna(r) else _level(r, i)
                             for r, i in zip(frame["rate"], frame["indicator_id"], strict=True)]
    frame["target_high"] = frame["indicator_id"].map(lambda i: TARGETS[i][1])
    frame["target_low"] = frame["indicator_id"].map(lambda i: TARGETS[i][2])
    frame["unreliable"] = frame["denominator"] < 10
    frame["dq_warning"] = False
    frame["dq_warning_checks"] = None
    return frame


def _pub_coverage() -> pd.DataFrame:
    return pd.DataFrame([
        {"registry_id": r, "level": lvl, "unit_id": who if lvl == "unit" else None,
         "unit_name": None, "region_code": "SE-AB", "event_year": y, "coverage": c,
         "suppressed": h} for r, lvl, who, y, c, h in COVERAGE])


def _dq_results() -> pd.DataFrame:
    return pd.DataFrame([
        {"checked_at": run, "stage": "warehouse", "registry_id": r, "entity": "e", "file_id": None,
         "check_name": "completeness_missing_pct", "column_name": var,
         "kahn_category": "completeness", "severity": "warning", "status": "passed",
         "element_count": n, "unexpected_count": m, "unexpected_percent": None,
         "threshold_pct": None, "unit_id": u, "period": "2025-11-01..2026-10-31",
         "observed_value": round(100.0 * m / n, 2), "threshold_value": 20.0}
        for r, u, var, m, n, run in MISSING])


# ---------------------------------------------------------------- build

VALUE_TYPES = {"registry_id": "varchar(32)", "indicator_id": "varchar(64)", "level": "varchar(16)",
               "unit_id": "varchar(64)", "region_code": "varchar(6)", "period_grain": "varchar(12)",
               "period_start": "date", "numerator": "bigint", "denominator": "bigint",
               "rate": "double precision", "suppressed": "boolean"}
PUB_VALUE_TYPES = {
    "value_key": "varchar(200)", "registry_id": "varchar(32)", "indicator_id": "varchar(64)",
    "indicator_name_sv": "varchar(200)", "indicator_name_en": "varchar(200)",
    "level": "varchar(8)", "unit_id": "varchar(64)", "unit_name": "varchar(200)",
    "region_code": "varchar(6)", "period_grain": "varchar(12)", "period_start": "date",
    "period_end": "date", "numerator": "bigint", "denominator": "bigint",
    "rate": "double precision", "ci_low": "double precision", "ci_high": "double precision",
    "target_level": "varchar(8)", "target_high": "double precision",
    "target_low": "double precision", "unreliable": "boolean", "suppressed": "boolean",
    "dq_warning": "boolean", "dq_warning_checks": "varchar(300)"}
COVERAGE_TYPES = {"registry_id": "varchar(32)", "level": "varchar(8)", "unit_id": "varchar(64)",
                  "unit_name": "varchar(200)", "region_code": "varchar(6)",
                  "event_year": "integer", "coverage": "double precision",
                  "suppressed": "boolean"}


def _create(wh, table: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    wh.execute(f"DROP TABLE IF EXISTS {table}")
    wh.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in types.items())})")
    frame = frame[list(types)].copy()
    for col, kind in types.items():  # counts with NULLs: integers, not floats
        if kind == "bigint":
            frame[col] = frame[col].astype("Int64")
    wh.bulk_insert(table, frame)


def _threshold(monkeypatch, value: float) -> None:
    """The rankability threshold as a dbt var on the command line (over dbt_project.yml's)."""
    base = policy.Policy.dbt_vars
    monkeypatch.setattr(policy.Policy, "dbt_vars",
                        lambda self: {**base(self), "rankability_threshold": value})


def _inputs(tmp_path, mp, warehouse: str, dsn: str | None = None) -> dict:
    use_var(mp, tmp_path / warehouse, tmp_path / "inbox", warehouse, dsn)
    groups = _rank_groups()
    with Warehouse(get_settings()) as wh:
        wh.ensure_ops()
        _create(wh, "marts.disclosed_indicator_values", _rank_values(groups), VALUE_TYPES)
        _create(wh, "publication.pub_indicator_values", _pub_values(), PUB_VALUE_TYPES)
        _create(wh, "publication.pub_coverage", _pub_coverage(), COVERAGE_TYPES)
        wh.bulk_insert("ops.dq_results", _dq_results())
    # the indicators seed without its relationship tests (they read fct_indicator_values)
    report = run_dbt(get_settings(), "build", [
        "--select", "path:seeds/indicators.csv", "fct_funnel",
        "--exclude", "test_name:relationships"])
    assert report.succeeded, report.failures
    return {"groups": groups}


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def warehouse(request, tmp_path_factory):
    """The inputs written to a new warehouse of each kind; regbench pointed at it."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp(request.param)
    try:
        if request.param == "duckdb":
            yield _inputs(tmp, mp, "duckdb")
        else:
            server = request.getfixturevalue("postgres_server")
            yield from _with_database(server, lambda dsn: _inputs(tmp, mp, "postgres", dsn))
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def ranked(warehouse):
    settings = get_settings()
    report = run_dbt(settings, "build", ["--select", "fct_rankability", "pub_rankability"])
    assert report.succeeded, report.failures
    out = dict(warehouse)
    with Warehouse(settings) as wh:
        out["fct_rankability"] = wh.frame("SELECT * FROM marts.fct_rankability")
        out["pub_rankability"] = wh.frame("SELECT * FROM publication.pub_rankability")
    # the threshold's edge: ρ exactly at the threshold is rankable, a threshold one double above
    # it is not
    edge = out["pub_rankability"].set_index("indicator_id").loc["edge_above", "rankability"]
    for name, threshold in {"at": float(edge), "above": float(np.nextafter(edge, 1.0))}.items():
        with pytest.MonkeyPatch.context() as m:
            _threshold(m, threshold)
            report = run_dbt(settings, "build", ["--select", "fct_rankability", "pub_rankability"])
        assert report.succeeded, report.failures
        with Warehouse(settings) as wh:
            out[f"threshold_{name}"] = wh.frame(
                "SELECT indicator_id, rankability, rankable FROM publication.pub_rankability")
    return out


@pytest.fixture(scope="module")
def overview(warehouse):
    settings = get_settings()
    report = run_dbt(settings, "build", ["--select", "pub_indicator_overview"])
    assert report.succeeded, report.failures
    with Warehouse(settings) as wh:
        return wh.frame("SELECT * FROM publication.pub_indicator_overview")


def _with_database(server, fn):
    import uuid

    import psycopg

    name = f"regbench_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield fn(f"postgresql://postgres@127.0.0.1:5432/{name}")
    finally:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- rankability

def test_rankability_matches_numpy_from_the_published_units_only(ranked):
    got = ranked["pub_rankability"].set_index("indicator_id")
    assert set(got.index) == set(ranked["groups"])
    for ind, units in ranked["groups"].items():
        _, tau2, med, rho = _funnel(units, HIDDEN.get(ind, []))
        row = got.loc[ind]
        assert (row.registry_id, row.period_grain, pd.Timestamp(row.period_start)) == (
            "test", "year", pd.Timestamp(YEAR))
        # the hidden units are in the national rate but not among the units ranked
        assert row.n_units == len(units), ind
        assert row.tau2 == pytest.approx(tau2, rel=TOL, abs=TOL), ind
        assert row.median_s2 == pytest.approx(med, rel=TOL, abs=TOL), ind
        assert row.rankability == pytest.approx(rho, rel=TOL, abs=TOL), ind
        assert 0.0 <= row.rankability <= 1.0
        assert bool(row.rankable) == (rho >= THRESHOLD), ind
    assert got.loc["spread", "rankability"] > 0.9 and got.loc["spread", "rankable"]
    assert got.loc["tight", "tau2"] == 0 and got.loc["tight", "rankability"] == 0
    assert got.loc["single", "rankability"] == 0 and not got.loc["single", "rankable"]
    # the mart and the publication say the same
    mart = ranked["fct_rankability"].set_index("indicator_id")
    assert (mart.loc[got.index, "rankability"] == got["rankability"]).all()


def test_rankable_on_both_sides_of_the_threshold_and_at_it(ranked):
    got = ranked["pub_rankability"].set_index("indicator_id")
    assert got.loc["edge_below", "rankability"] < THRESHOLD
    assert not got.loc["edge_below", "rankable"]
    assert got.loc["edge_above", "rankability"] >= THRESHOLD and got.loc["edge_above", "rankable"]
    at = ranked["threshold_at"].set_index("indicator_id")
    above = ranked["threshold_above"].set_index("indicator_id")
    assert at.loc["edge_above", "rankable"] and not above.loc["edge_above", "rankable"]
    assert at.loc["spread", "rankable"] and above.loc["spread", "rankable"]
    assert not at.loc["edge_below", "rankable"]


# ---------------------------------------------------------------- coverage beside the value

def _expected_overview() -> dict[tuple, tuple]:
    """(level, unit or region, indicator) -> (coverage_pct, completeness_pct, flag)."""
    cov = {(r, lvl, who, y): (c, h) for r, lvl, who, y, c, h in COVERAGE}
    latest = {}
    for r, u, _var, m, n, run in MISSING:
        if run == LAST_RUN and m >= K and n - m >= K:
            latest.setdefault((r, u), []).append(round(100.0 * m / n, 2))
    out = {}
    values = _pub_values()
    for v in values.itertuples():
        who = _none(v.unit_id if v.level == "unit" else v.region_code)
        if v.suppressed or v.level == "national":
            out[(v.level, who, v.indicator_id)] = (None, None, None)
            continue
        years = sorted((y for (r, lvl, w, y) in cov if (r, lvl, w) == (v.registry_id, v.level, who)
                        and y <= PERIOD[1].year), reverse=True)
        c = None
        if years:
            c, hidden = cov[(v.registry_id, v.level, who, years[0])]
            c = None if hidden else c
        pct = None if c is None else float(np.floor(c * 100 + 0.5))
        flag = None
        if pct is not None:
            share = pct / 100
            low, high = share * v.rate, share * v.rate + (1 - share)
            flag = _level(low, v.indicator_id) != _level(high, v.indicator_id)
        missing = latest.get((v.registry_id, who)) if v.level == "unit" else None
        complete = None if not missing else float(np.floor(100 - max(missing) + 0.5))
        out[(v.level, who, v.indicator_id)] = (pct, complete, flag)
    return out


def _none(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA else x


def test_coverage_completeness_and_the_missing_cases_flag_beside_each_value(overview):
    got = overview
    want = _expected_overview()
    assert len(got) == len(want)
    seen = {}
    for row in got.itertuples():
        who = _none(row.unit_id if row.level == "unit" else row.region_code)
        key = (row.level, who, row.indicator_id)
        have = (_none(row.coverage_pct), _none(row.completeness_pct),
                _none(row.missing_could_change_level))
        have = tuple(None if h is None else (bool(h) if i == 2 else float(h))
                     for i, h in enumerate(have))
        assert have == want[key], key
        seen[key] = have
    # the cases the data were made for
    flags = {k[1]: v[2] for k, v in seen.items() if k[0] == "unit"}
    assert flags["P1"] is True and flags["P2"] is False       # crosses / stays
    assert flags["N1"] is False and flags["N2"] is True        # 'between' both ways
    assert flags["S1"] is True and flags["S2"] is False        # lower is better
    assert seen[("unit", "P3", "munhalsa")][0] == 97.0          # 2025: the latest year there is
    assert seen[("unit", "P4", "munhalsa")][:3:2] == (None, None)  # its year's cell is hidden
    assert seen[("unit", "P1", "munhalsa")][1] == 88.0          # the worst variable, latest run
    assert seen[("unit", "N1", "avf_vid_hd_start")][1] == 67.0
    assert seen[("unit", "P2", "munhalsa")][1] == 100.0         # 0.5 % missing, rounded
    assert seen[("unit", "N2", "avf_vid_hd_start")][1] is None  # 4 missing: no share shown


def test_a_hidden_value_shows_no_coverage_completeness_or_flag(overview):
    got = overview
    hidden = got[got["suppressed"].astype(bool)]
    assert list(hidden["unit_id"]) == ["P5"]
    for col in ["coverage_pct", "completeness_pct", "missing_could_change_level", "rate"]:
        assert hidden[col].isna().all(), col
