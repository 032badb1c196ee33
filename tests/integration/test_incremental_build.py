"""A night that brings new files rebuilds only the months they touch, and the marts only the
periods containing those months, and ends with exactly the marts and publication tables a full
rebuild from all of raw gives; on DuckDB and on PostgreSQL (decisions 0012 and 0016)."""

import csv
import shutil
from datetime import datetime, timedelta

import duckdb
import psycopg
import pytest
from two_builds import _key, _same, use_var

from regbench import nightly
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.warehouse import Warehouse

pytestmark = [pytest.mark.slow]

REGISTRIES = sorted(load_contracts(REPO_ROOT / "registries"))
LAST = "2026-10"
BASES = ["base_palliativ__dodsfall", "base_njur__start", "base_njur__referens",
         "base_swedvasc__operation", "base_blodcancer__diagnos"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Fifteen months of demo exports (so rolling 12-month windows exist); the last month's
    registration files held back for night two."""
    root = tmp_path_factory.mktemp("exports")
    generate(root / "inbox", load_contracts(REPO_ROOT / "registries"),
             REPO_ROOT / "dbt_project/seeds/units.csv", scale=1.0, months=15)
    held = sorted((root / "inbox").rglob(f"*_{LAST}.*"))
    assert len(held) == 4, held
    for f in held:
        target = root / "held" / f.parent.name / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f, target)
    return root


def _ingest_all(waiting: dict[str, int] | None = None):
    reports = [nightly.ingest(r) for r in REGISTRIES]
    expected = {r: (waiting or {}).get(r, 0) for r in REGISTRIES}
    assert {r["registry_id"]: r["files_quarantined"] for r in reports} == expected, reports
    return reports


def _accept_waiting(registry_id: str) -> None:
    from datetime import datetime as _datetime

    from regbench import quarantine

    settings = get_settings()
    with Warehouse(settings) as wh:
        (file_id, reason) = wh.fetchone("SELECT file_id, reason FROM ops.ledger WHERE registry_id = ?"
                                        " AND status = 'quarantined'", [registry_id])
        assert reason.startswith("mostly_outside_file_period"), reason
        quarantine.release(settings, wh, file_id, accept=True, note="the clinic's corrected dates",
                           now=_datetime.now())


AGGREGATES = {"int_indicator_monthly": "month_start", "int_registrations_monthly": "month_start",
              "int_coverage_yearly": "year_start",
              "int_casemix_strata_yearly": "year_start"}


def _built_months(wh) -> dict[tuple[str, str], str]:
    """When each month of each base table, and each (registry, period) of each incremental
    aggregate, was last rebuilt."""
    out = {}
    for t in BASES:
        for month, built in wh.fetchall(
                f"SELECT _event_month, max(_built_at) FROM staging.{t} GROUP BY 1"):
            out[(t, str(month))] = str(built)
    for t, period in AGGREGATES.items():
        for registry, start, built in wh.fetchall(
                f"SELECT registry_id, {period}, max(_built_at) FROM intermediate.{t} GROUP BY 1, 2"):
            out[(f"{t}.{registry}", str(start))] = str(built)
    return out


# the funnels are full tables: they are computed from what the disclosure layer publishes, which
# a new month can change in any period (docs/decisions/0017)
PERIOD_MARTS = ["fct_indicator_values"]


def _built_periods(wh) -> dict[tuple[str, str, str, str], str]:
    """When each (registry, grain, period) of each period-incremental mart was last rebuilt."""
    out = {}
    for t in PERIOD_MARTS:
        for registry, grain, start, built in wh.fetchall(
                f"SELECT registry_id, period_grain, period_start, max(_built_at) FROM marts.{t}"
                " GROUP BY 1, 2, 3"):
            out[(t, registry, grain, str(start))] = str(built)
    return out


def _periods_containing(month: str) -> set[tuple[str, str]]:
    """(grain, period_start) of every period that holds the month (YYYY-MM-01)."""
    y, m = int(month[:4]), int(month[5:7])
    rolling = {("rolling_12m", f"{(y * 12 + m - 1 - k) // 12:04d}-{(y * 12 + m - 1 - k) % 12 + 1:02d}-01")
               for k in range(12)}
    return {("month", month), ("quarter", f"{y:04d}-{(m - 1) // 3 * 3 + 1:02d}-01"),
            ("year", f"{y:04d}-01-01")} | rolling


def _tables(wh, schema: str, names: list[str]) -> dict[str, list[tuple]]:
    out = {}
    for t in names:
        cols = [c for (c,) in wh.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ?"
            " AND table_name = ? AND column_name <> '_built_at' ORDER BY column_name", [schema, t])]
        out[t] = sorted(wh.fetchall(f"SELECT {', '.join(cols)} FROM {schema}.{t}"), key=_key)
    return out


def _marts(wh) -> dict[str, list[tuple]]:
    names = [t for (t,) in wh.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        " AND table_type = 'BASE TABLE' ORDER BY 1")]
    assert "fct_indicator_values" in names
    published = [t for (t,) in wh.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'publication'"
        " AND table_type = 'BASE TABLE' ORDER BY 1")]
    assert "pub_indicator_values" in published
    return {**_tables(wh, "marts", names), **_tables(wh, "staging", BASES),
            **_tables(wh, "intermediate", list(AGGREGATES)),
            **{f"publication.{t}": rows for t, rows in _tables(wh, "publication", published).items()}}


def _opt_out_one_person(exports, inbox) -> str:
    """An opt-out list naming the first patient of njur's second month; returns that month."""
    first = sorted((exports / "inbox" / "njur").glob("njur_start_*.csv"))[1]
    header, row = first.read_text(encoding="utf-8-sig").splitlines()[:2]
    sep = ";"
    values = dict(zip(header.split(sep), row.split(sep), strict=True))
    (inbox / "njur" / "njur_optout_2026-11-20.csv").write_text(
        f"personnummer\n{values['personnummer']}\n", encoding="utf-8")
    digits = "".join(ch for ch in values["startdatum"] if ch.isdigit())
    return f"{digits[:4]}-{digits[4:6]}-01"


def _correct_one_delivery(exports, inbox) -> tuple[str, str]:
    """swedvasc re-delivers its third month: the clinic had dated its aneurysm operations a month
    late, and the corrected file moves them a month earlier (and leaves out the carotid ones, whose
    symptom dates would then follow the operation). Returns the month the loaded file covered and
    the month the corrected one does: the first now holds none of the file's rows."""
    loaded = sorted((exports / "inbox" / "swedvasc").glob("swedvasc_operation_*.csv"))[2]
    with loaded.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    months = {r["operationsdatum"][:7] for r in rows}
    assert len(months) == 1, months
    corrected = []
    for r in rows:
        if r["symtomdatum"]:
            continue
        day = datetime.strptime(r["operationsdatum"], "%Y-%m-%d %H:%M:%S")
        earlier = (day.replace(day=1) - timedelta(days=1)).replace(day=min(day.day, 28))
        corrected.append({**r, "operationsdatum": earlier.strftime("%Y-%m-%d %H:%M:%S")})
    assert corrected and {r["operationsdatum"][:7] for r in corrected}.isdisjoint(months)
    with (inbox / "swedvasc" / loaded.name).open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(corrected)
    (before,) = months
    (after,) = {r["operationsdatum"][:7] for r in corrected}
    return before + "-01", after + "-01"


def _shift_months(yyyymmdd: str, months: int) -> str:
    k = int(yyyymmdd[:4]) * 12 + int(yyyymmdd[4:6]) - 1 + months
    return f"{k // 12:04d}{k % 12 + 1:02d}{min(int(yyyymmdd[6:8]), 28):02d}"


def _deliver_months_before_the_first(exports, inbox, months: int = 14) -> str:
    """njur delivers a file of starts from before its first month (a unit joining with its back
    catalogue): its first month moves back, so a rolling window ending in its old first month now
    fits its history, though no month that window holds has changed. Returns the new first month."""
    first = sorted((exports / "inbox" / "njur").glob("njur_start_*.csv"))[0]
    header, *rows = first.read_text(encoding="utf-8-sig").splitlines()
    columns = header.split(";")
    out, dated = [], set()
    for line in rows:
        values = dict(zip(columns, line.split(";"), strict=True))
        for c in ("startdatum", "registreringsdatum"):
            values[c] = _shift_months(values[c], -months)
        dated.add(values["startdatum"][:6])
        out.append(";".join(values[c] for c in columns))
    (month,) = dated
    (inbox / "njur" / f"njur_start_{month[:4]}-{month[4:]}.csv").write_text(
        "\n".join([header, *out]) + "\n", encoding="utf-8")
    return f"{month[:4]}-{month[4:]}-01"


@pytest.mark.parametrize("warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_incremental_night_rebuilds_only_what_changed_and_equals_a_full_build(
        tmp_path, exports, monkeypatch, warehouse, request):
    dsn = request.getfixturevalue("fresh_database") if warehouse == "postgres" else None
    inbox = tmp_path / "inbox"
    shutil.copytree(exports / "inbox", inbox)
    use_var(monkeypatch, tmp_path / "var", inbox, warehouse, dsn)

    # night one: everything is new
    _ingest_all()
    nightly.build()
    with Warehouse(get_settings()) as wh:
        night_one = _built_months(wh)
        periods_one = _built_periods(wh)
    assert len({m for _, m in night_one}) >= 8

    # a night with nothing new rebuilds nothing
    nightly.build()
    with Warehouse(get_settings()) as wh:
        assert _built_months(wh) == night_one
        assert _built_periods(wh) == periods_one

    # night two: every registry's October file, one opt-out from njur's second month, a
    # corrected swedvasc delivery for an earlier month that replaces the one loaded, and njur
    # starts from fourteen months before its first
    shutil.copytree(exports / "held", inbox, dirs_exist_ok=True)
    opted_out_month = _opt_out_one_person(exports, inbox)
    replaced_month, corrected_month = _correct_one_delivery(exports, inbox)
    new_first_month = _deliver_months_before_the_first(exports, inbox)
    _ingest_all(waiting={"swedvasc": 1})
    # every row of the correction lies outside the month its name gives: it waits until a
    # person accepts it (decision 0018), then loads on the next ingest
    _accept_waiting("swedvasc")
    _ingest_all()
    nightly.build()
    with Warehouse(get_settings()) as wh:
        night_two = _built_months(wh)
        periods_two = _built_periods(wh)
        incremental = _marts(wh)
    rebuilt = {k for k, v in night_two.items() if night_one.get(k) != v}
    expected = {(t, f"{LAST}-01") for t in BASES if "referens" not in t} | {
        (f"{t}.{r}", f"{LAST}-01") for r in REGISTRIES
        for t in ("int_indicator_monthly",)} | {
        ("base_njur__start", opted_out_month), ("int_indicator_monthly.njur", opted_out_month),
        ("int_coverage_yearly.njur", opted_out_month[:4] + "-01-01"),
        ("base_njur__start", new_first_month), ("int_indicator_monthly.njur", new_first_month)} | {
        ("base_swedvasc__operation", corrected_month)}
    assert expected <= rebuilt, sorted(expected - rebuilt)
    # the replaced delivery's month held only that file's rows: it is gone, not left stale
    assert ("base_swedvasc__operation", replaced_month) in night_one
    assert ("base_swedvasc__operation", replaced_month) not in night_two
    touched = {f"{LAST}-01", opted_out_month, f"{LAST[:4]}-01-01", opted_out_month[:4] + "-01-01",
               replaced_month, corrected_month, new_first_month, new_first_month[:4] + "-01-01"}
    untouched = {k for k in night_one if k[1] not in touched}
    assert untouched, "every month was touched: the test data no longer tells anything"
    assert not (rebuilt & untouched), sorted(rebuilt & untouched)

    # the marts rebuilt the periods holding a changed month, and only those; all of njur, whose
    # first month moved (a rolling window must fit the registry's history)
    changed_months = {r: {f"{LAST}-01"} for r in REGISTRIES if r != "njur"}
    changed_months["swedvasc"] |= {replaced_month, corrected_month}
    allowed = {(t, r, *p) for t in PERIOD_MARTS for r, months in changed_months.items()
               for m in months for p in _periods_containing(m)}
    allowed |= {k for k in periods_two if k[1] == "njur"}
    rebuilt_periods = {k for k, v in periods_two.items() if periods_one.get(k) != v}
    assert rebuilt_periods <= allowed, sorted(rebuilt_periods - allowed)[:10]
    assert {("fct_indicator_values", r, "month", f"{LAST}-01") for r in REGISTRIES} <= rebuilt_periods
    assert set(periods_two) - allowed, "every period was rebuilt: the test data no longer tells anything"

    # the snapshot compared only the rebuilt rows, yet holds every published value as it is now,
    # and the values night two revised as closed versions beside the new ones
    with Warehouse(get_settings()) as wh:
        published = {k: v for k, *v in wh.fetchall(
            "SELECT value_key, numerator, denominator, rate, suppressed"
            " FROM publication.pub_indicator_values")}
        current = {k: v for k, *v in wh.fetchall(
            "SELECT value_key, numerator, denominator, rate, suppressed"
            " FROM snapshots.snap_pub_indicator_values WHERE dbt_valid_to IS NULL")}
        revised = wh.fetchall(
            "SELECT DISTINCT registry_id, level, period_grain, cast(period_start AS varchar)"
            " FROM snapshots.snap_pub_indicator_values WHERE dbt_valid_to IS NOT NULL")
    assert published.keys() <= current.keys()
    assert all(_same(a, b) for k, v in published.items() for a, b in zip(v, current[k], strict=True))
    assert ("njur", "national", "month", opted_out_month) in revised, revised[:5]

    # the same raw, built from scratch, gives the same marts, publication and base tables
    nightly.build(full_refresh=True)
    with Warehouse(get_settings()) as wh:
        full = _marts(wh)
    assert full.keys() == incremental.keys()
    for table, rows in full.items():
        assert len(rows) == len(incremental[table]), table
        for a, b in zip(rows, incremental[table], strict=True):
            assert all(_same(x, y) for x, y in zip(a, b, strict=True)), (table, a, b)

    # a value, and a point of a limit curve, is published once: each warehouse refuses a second copy
    for table in ("pub_indicator_values", "pub_funnel_limits"):
        with Warehouse(get_settings()) as wh, pytest.raises(
                (duckdb.ConstraintException, psycopg.errors.UniqueViolation), match="(?i)key"):
            wh.execute(f"INSERT INTO publication.{table} SELECT * FROM publication.{table} LIMIT 1")


def test_a_warning_raised_or_cleared_reflags_the_periods_it_covers(tmp_path, exports, monkeypatch):
    """The publication's data-quality flags follow the latest checks although no data changed:
    a warning raised for one unit and month flags that unit's values in every period holding the
    month, and clearing it unflags them (decision 0016)."""
    inbox = tmp_path / "inbox"
    shutil.copytree(exports / "inbox", inbox)
    use_var(monkeypatch, tmp_path / "var", inbox, "duckdb", None)
    _ingest_all()
    nightly.build()
    with Warehouse(get_settings()) as wh:
        (checked_at,) = wh.fetchone("SELECT max(checked_at) FROM ops.dq_results"
                                    " WHERE stage = 'warehouse' AND registry_id = 'njur'")
        unit, month = wh.fetchone(
            "SELECT unit_id, cast(max(period_start) AS varchar) FROM publication.pub_indicator_values"
            " WHERE registry_id = 'njur' AND level = 'unit' AND period_grain = 'month'"
            " AND period_start < cast('2026-06-01' AS date) GROUP BY unit_id ORDER BY unit_id LIMIT 1")
        wh.execute(
            "INSERT INTO ops.dq_results (checked_at, stage, registry_id, check_name, kahn_category,"
            " severity, status, unit_id, period) VALUES (?, 'warehouse', 'njur', 'injected_check',"
            " 'plausibility', 'warning', 'failed', ?, ?)", [checked_at, unit, f"{month[:7]}..{month[:7]}"])

    def flagged() -> set[tuple[str, str]]:
        with Warehouse(get_settings()) as wh:
            return {(g, str(s)) for g, s in wh.fetchall(
                "SELECT period_grain, period_start FROM publication.pub_indicator_values"
                " WHERE dq_warning_checks LIKE '%injected_check%' AND unit_id = ?", [unit])}

    nightly.build_publication()
    with Warehouse(get_settings()) as wh:
        of_unit = {(g, str(s)) for g, s in wh.fetchall(
            "SELECT DISTINCT period_grain, period_start FROM publication.pub_indicator_values"
            " WHERE unit_id = ?", [unit])}
    assert flagged() == of_unit & _periods_containing(month)
    assert ("month", month) in flagged()

    with Warehouse(get_settings()) as wh:
        wh.execute("DELETE FROM ops.dq_results WHERE check_name = 'injected_check'")
    nightly.build_publication()
    assert flagged() == set()
