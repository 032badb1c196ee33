"""Disclosure control on a real build (demo exports, DuckDB, dbt): the attacker finds nothing in
the night's release, every route the first round of regbench leaked through is closed, and a
release with a leak injected is refused at the audit with a message that names the leak."""

import duckdb
import pytest
from two_builds import use_var

from regbench import nightly
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.disclosure.release_audit import audit_release
from regbench.publish import publication_tables
from regbench.warehouse import Warehouse

pytestmark = pytest.mark.slow
REGISTRIES = sorted(load_contracts(REPO_ROOT / "registries"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("disclosure")
    mp = pytest.MonkeyPatch()
    use_var(mp, root / "var", root / "inbox", "duckdb")
    generate(root / "inbox", load_contracts(REPO_ROOT / "registries"),
             REPO_ROOT / "dbt_project/seeds/units.csv", scale=1.0, months=24)
    for r in REGISTRIES:
        nightly.ingest(r)
    report = nightly.build()
    nightly.publish(held=nightly.audit().get("held"))
    yield report
    mp.undo()


def _published(sql: str):
    con = duckdb.connect(str(get_settings().published_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_the_attacker_recovers_nothing_from_the_published_release(built):
    """As an outsider: only the published file, no true counts, no knowledge of shared
    denominators beyond what the numbers show."""
    con = duckdb.connect(str(get_settings().published_path), read_only=True)
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'publication'"
    ).fetchall()]
    findings = audit_release(lambda sql: con.execute(sql).df(), tables, k=5)
    con.close()
    assert findings == []
    # hidden cells say nothing of why: "its own count is small" would itself be a disclosure
    columns = set(_published("SELECT * FROM publication.pub_indicator_values LIMIT 1").columns)
    assert "suppressed" in columns and not {c for c in columns if "reason" in c}
    assert set(_published("SELECT DISTINCT rate_text FROM publication.pub_indicator_overview"
                          " WHERE suppressed")["rate_text"]) == {".."}
    with Warehouse(get_settings()) as wh:
        reasons = dict(wh.fetchall("SELECT reason, count(*) FROM marts.disclosure_cells"
                                   " WHERE num_hidden GROUP BY reason"))
    assert reasons["primary"] > 100 and reasons["secondary"] > 10
    assert built["disclosure"]["hidden"] > 0
    # the same counts under the same policy: the decision stands, without deciding again
    assert nightly.disclose()["reused"] is True


def test_nothing_derived_from_a_hidden_cell_is_published(built):
    # p-chart points, limits and centre lines only from published months
    leaks = _published("""
        SELECT count(*) FROM publication.pub_spc AS s
        JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = s.indicator_id AND v.level = 'unit' AND v.unit_id = s.unit_id
         AND v.period_grain = 'month' AND v.period_start = s.period_start
        WHERE v.suppressed""").iloc[0, 0]
    assert leaks == 0
    # funnel points only for published cells; every hidden cell's statistics are empty
    assert _published("""
        SELECT count(*) FROM publication.pub_funnel AS f
        JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = f.indicator_id AND v.level = 'unit' AND v.unit_id = f.unit_id
         AND v.period_grain = f.period_grain AND v.period_start = f.period_start
        WHERE v.suppressed""").iloc[0, 0] == 0
    assert _published("""
        SELECT count(*) FROM publication.pub_indicator_values WHERE suppressed
           AND (numerator IS NOT NULL OR rate IS NOT NULL OR ci_low IS NOT NULL
                OR target_level IS NOT NULL)""").iloc[0, 0] == 0
    # only the latest rolling window (consecutive windows differ by one month in, one out)
    assert _published("SELECT count(DISTINCT period_start) FROM publication.pub_indicator_values"
                      " WHERE period_grain = 'rolling_12m' GROUP BY indicator_id").iloc[:, 0].max() == 1
    # coverage and registrations: no count and no ratio of a hidden cell
    assert _published("SELECT count(*) FROM publication.pub_coverage WHERE suppressed AND"
                      " coverage IS NOT NULL").iloc[0, 0] == 0
    # coverage is a ratio to a whole per cent, never a count (the registered persons of a year are
    # its months' registrations)
    coverage = _published("SELECT * FROM publication.pub_coverage")
    assert not {"registered", "persons", "only_reference", "in_both"} & set(coverage.columns)
    assert ((coverage["coverage"].dropna() * 100).round(9) % 1 == 0).all()
    assert _published("SELECT count(*) FROM publication.pub_registrations WHERE suppressed AND"
                      " (registrations IS NOT NULL OR ratio_to_median IS NOT NULL"
                      "  OR lag_median_days IS NOT NULL)").iloc[0, 0] == 0
    # the data-engineering findings hide a ratio whose months are hidden
    assert _published("""
        SELECT count(*) FROM publication.pub_ops_unit_findings AS f
        JOIN publication.pub_coverage AS c
          ON c.registry_id = f.registry_id AND c.unit_id = f.unit_id
         AND CAST(c.event_year AS VARCHAR) = f.period
        WHERE f.check_name = 'coverage' AND c.suppressed AND f.observed_value IS NOT NULL
    """).iloc[0, 0] == 0


def test_the_routes_of_the_second_outside_review_are_closed(built):
    """An outsider with the release alone (2026-12-01) pinned hidden counts through four routes."""
    # registrations are a unit-month's denominator for some indicators (blodcancer: every
    # registration is an mdk and a kontaktssk case) and bound the others: a unit-month publishes
    # its registrations and its indicator denominators together or hides them together
    mixed = _published("""
        SELECT r.registry_id, r.unit_id, r.period_start, v.indicator_id
        FROM publication.pub_registrations AS r
        JOIN publication.pub_indicator_values AS v
          ON v.registry_id = r.registry_id AND v.level = 'unit' AND v.unit_id = r.unit_id
         AND v.period_grain = 'month' AND v.period_start = r.period_start
        WHERE r.suppressed <> (v.denominator IS NULL)""")
    assert mixed.empty, mixed.head().to_string()
    # why a cell is hidden is not published, not even as a count per group (all primary = small)
    assert not {c for c in _published("SELECT * FROM publication.pub_suppression LIMIT 1").columns
                if "primary" in c or "secondary" in c}
    # a collapse below half a published median bounded a hidden month's count
    assert _published("SELECT count(*) FROM publication.pub_registrations WHERE suppressed"
                      " AND collapse_signal IS NOT NULL").iloc[0, 0] == 0
    # a share of missing values over published registrations gave the missing count back
    with Warehouse(get_settings()) as wh:
        small = wh.frame("""
            SELECT registry_id, unit_id, column_name FROM ops.dq_results
            WHERE stage = 'warehouse' AND check_name = 'completeness_missing_pct'
              AND (unexpected_count BETWEEN 1 AND 4 OR element_count - unexpected_count BETWEEN 1 AND 4)""")
    shown = _published("SELECT registry_id, unit_id, column_name FROM publication.pub_ops_unit_findings"
                       " WHERE check_name = 'completeness_missing_pct' AND observed_value IS NOT NULL")
    assert len(small) and small.merge(shown).empty


def _rebuild() -> None:
    """The publication as the layer decided it, without deciding again."""
    nightly._dbt_build(["--select", *nightly.PUBLICATION], "publication layer")


def _refused(capsys) -> str:
    with pytest.raises(nightly.StepFailed) as failed:
        nightly.audit()
    return str(failed.value)


def _leak_a_small_cell(wh) -> str:
    """Show every hidden unit of one region and month but one small unit, whose count the
    published region then gives away; returns that unit's value_key."""
    values = wh.frame("SELECT p.value_key, p.indicator_id, p.unit_id, p.region_code, p.period_start,"
                      " p.suppressed, d.reason AS suppression_reason, f.numerator"
                      " FROM publication.pub_indicator_values AS p"
                      " JOIN marts.fct_indicator_values AS f USING (indicator_id, level, unit_id,"
                      "      period_grain, period_start)"
                      " JOIN marts.disclosure_cells AS d USING (indicator_id, level, unit_id,"
                      "      period_grain, period_start)"
                      " WHERE p.level = 'unit' AND p.period_grain = 'month'")
    regions = wh.frame("SELECT indicator_id, region_code, period_start FROM"
                       " publication.pub_indicator_values WHERE level = 'region'"
                       " AND period_grain = 'month' AND NOT suppressed")
    groups = values.merge(regions, on=["indicator_id", "region_code", "period_start"])
    for _, g in groups.groupby(["indicator_id", "region_code", "period_start"]):
        small = g[(g["suppression_reason"] == "primary") & g["numerator"].between(1, 4)]
        others = g[g["suppressed"] & (g["suppression_reason"] == "secondary")]
        if len(small) == 1 and len(others) and g["suppressed"].sum() == len(others) + 1:
            for key in others["value_key"]:
                wh.execute("""
                    UPDATE publication.pub_indicator_values AS p
                    SET numerator = f.numerator, denominator = f.denominator, rate = f.rate,
                        suppressed = false
                    FROM marts.fct_indicator_values AS f
                    WHERE p.value_key = ? AND f.indicator_id = p.indicator_id
                      AND f.level = p.level AND f.unit_id = p.unit_id
                      AND f.period_grain = p.period_grain AND f.period_start = p.period_start
                """, [key])
            return small["value_key"].iloc[0]
    raise AssertionError("no region and month to leak from: the test data no longer tells anything")


def test_a_release_that_publishes_a_hidden_count_is_refused_and_names_it(built, capsys):
    """Inject a leak into the built (not yet published) publication: the partners of a small
    unit shown, so that its region minus the other units gives it away."""
    live_before = _published("SELECT count(*) FROM publication.pub_indicator_values"
                             " WHERE suppressed").iloc[0, 0]
    with Warehouse(get_settings()) as wh:
        key = _leak_a_small_cell(wh)
    indicator, _, unit = key.split("|")[:3]
    try:
        message = _refused(capsys)
        assert "disclosure_attack" in message and "nothing published" in message
        assert f"pub_indicator_values: {indicator} unit {unit} month" in message
        assert "(units sum)" in message  # the route: the region's sum of its units pins it
        with Warehouse(get_settings()) as wh:
            (status,) = wh.fetchone("SELECT outcome FROM ops.publish_log ORDER BY attempted_at DESC"
                                    " LIMIT 1")
        assert status == "blocked"
        assert _published("SELECT count(*) FROM publication.pub_indicator_values"
                          " WHERE suppressed").iloc[0, 0] == live_before
    finally:
        _rebuild()


def test_a_chart_point_of_a_hidden_cell_is_refused_and_names_the_table(built, capsys):
    with Warehouse(get_settings()) as wh:
        wh.execute("""
            INSERT INTO publication.pub_spc (registry_id, indicator_id, indicator_name_sv,
                                             indicator_name_en, unit_id, period_start, rate,
                                             centre, lcl, ucl)
            SELECT v.registry_id, v.indicator_id, v.indicator_name_sv, v.indicator_name_en,
                   v.unit_id, v.period_start, f.rate, f.rate, 0, 1
            FROM publication.pub_indicator_values AS v
            JOIN marts.fct_indicator_values AS f
              ON f.indicator_id = v.indicator_id AND f.level = v.level AND f.unit_id = v.unit_id
             AND f.period_grain = v.period_grain AND f.period_start = v.period_start
            WHERE v.suppressed AND v.level = 'unit' AND v.period_grain = 'month'
            ORDER BY v.value_key LIMIT 1""")
    try:
        message = _refused(capsys)
        assert "pub_spc" in message and "hides" in message
    finally:
        _rebuild()


def test_expected_deaths_give_back_no_hidden_national_or_stratum_count(built):
    """Indirect standardisation: E = Σ patients × national stratum rate, so the units' E add up to
    the national deaths, and a stratum's rate (its deaths over its patients) is readable from the
    E of units whose case mix is known. An attacker who knows every unit's patients per stratum
    (the strongest one) must learn no count of 1..4: no E in a year whose national count is
    hidden, and no stratum rate it can isolate that stands for 1..4 deaths."""
    import numpy as np

    casemix = _published("SELECT indicator_id, unit_id, period_start, expected"
                         " FROM publication.pub_casemix WHERE expected IS NOT NULL")
    national = _published("SELECT indicator_id, period_start, suppressed FROM"
                          " publication.pub_indicator_values WHERE level = 'national'"
                          " AND period_grain = 'year'")
    hidden_years = set(map(tuple, national.loc[national.suppressed,
                                                ["indicator_id", "period_start"]].to_numpy()))
    assert not [k for k in map(tuple, casemix[["indicator_id", "period_start"]].to_numpy())
                if k in hidden_years]
    import pandas as pd

    columns = ["indicator_id", "unit_id", "period_start", "age_band", "sex", "patients", "died"]
    with Warehouse(get_settings()) as wh:
        strata = pd.DataFrame(wh.fetchall(
            "SELECT indicator_id, unit_id, year_start, age_band, sex, patients, died"
            " FROM intermediate.int_casemix_strata_yearly"), columns=columns)
    strata["period_start"] = pd.to_datetime(strata["period_start"])
    casemix["period_start"] = pd.to_datetime(casemix["period_start"])
    isolated = 0
    for (ind, year), pub in casemix.groupby(["indicator_id", "period_start"]):
        mine = strata[(strata.indicator_id == ind) & (strata.period_start == year)]
        mix = mine.pivot_table(index="unit_id", columns=["age_band", "sex"], values="patients",
                               aggfunc="sum", fill_value=0)
        deaths = mine.groupby(["age_band", "sex"])["died"].sum()
        patients = mix.sum()
        rows = mix.loc[pub.unit_id].to_numpy(float)
        for j, stratum in enumerate(mix.columns):
            # a stratum's rate is isolated when its unit vector lies in the span of the units'
            # case mixes; the attacker then reads deaths = rate × the stratum's patients
            target = np.zeros(len(mix.columns))
            target[j] = 1
            coef, *_ = np.linalg.lstsq(rows.T, target, rcond=None)
            if not np.allclose(rows.T @ coef, target, atol=1e-9):
                continue
            isolated += 1
            read = float(coef @ pub.expected.to_numpy(float)) * patients[stratum]
            pinned = abs(read - deaths[stratum]) < 1e-6
            assert not (pinned and 1 <= deaths[stratum] <= 4), (ind, year, stratum, read)
    assert len(casemix) and isolated  # the attack had something to work on


def test_an_expected_count_in_a_year_whose_national_count_is_hidden_is_refused(built, capsys):
    with Warehouse(get_settings()) as wh:
        wh.execute("""
            UPDATE publication.pub_casemix SET expected = 1.5
            WHERE NOT suppressed AND period_start IN (
                SELECT period_start FROM publication.pub_indicator_values
                WHERE level = 'national' AND period_grain = 'year' AND suppressed
                  AND indicator_id = 'aaa_mort_30d')""")
        assert wh.fetchone("SELECT count(*) FROM publication.pub_casemix WHERE expected = 1.5")[0]
    try:
        message = _refused(capsys)
        assert "pub_casemix" in message and "national count" in message
    finally:
        _rebuild()


def test_a_table_the_audit_does_not_know_is_refused(built, capsys):
    with Warehouse(get_settings()) as wh:
        wh.execute("CREATE TABLE publication.pub_extra AS SELECT 1 AS n")
        assert "pub_extra" in publication_tables(wh)
    try:
        message = _refused(capsys)
        assert "pub_extra" in message and "not covered by the disclosure audit" in message
    finally:
        with Warehouse(get_settings()) as wh:
            wh.execute("DROP TABLE publication.pub_extra")


def test_the_strict_policy_publishes_no_denominator_under_15(built):
    from regbench.disclosure.layer import decide
    from regbench.disclosure.policy import load_policy

    with Warehouse(get_settings()) as wh:
        report = decide(wh, load_policy(get_settings().dbt_project_dir, "open_reporting_strict"))
        small = wh.fetchone("""
            SELECT count(*) FROM marts.disclosure_cells AS d
            JOIN marts.fct_indicator_values AS f
              ON f.indicator_id = d.indicator_id AND f.level = d.level
             AND coalesce(f.unit_id, '') = coalesce(d.unit_id, '')
             AND coalesce(f.region_code, '') = coalesce(d.region_code, '')
             AND f.period_grain = d.period_grain AND f.period_start = d.period_start
            WHERE f.denominator BETWEEN 1 AND 14 AND NOT d.den_hidden""")[0]
    assert report["policy"] == "open_reporting_strict" and report["still_exposed"] == 0
    assert small == 0
    nightly.build_publication()  # back to the policy the file names
