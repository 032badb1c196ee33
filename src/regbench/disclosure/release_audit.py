"""The attacker in the audit: everything a release publishes, combined, must pin no hidden count.

Two kinds of attack on the tables of a publication schema (the warehouse's before publishing, or
a published release file as an outsider has it):

- linear: the indicator values and registrations as cells with every sum a reader
  knows (attack.py), each hidden count bounded by linear programmes;
- cross-table: a number in another table about a cell the values table hides (a p-chart point, a
  funnel point, an observed count), or a statistic that is not computed from published counts
  alone (a centre line, a funnel target).

A table in the publication the audit does not know is itself a finding: a new table must say how
it is protected before it is published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from regbench.disclosure.attack import attack

# what each known table is, for the audit; pub_ops_* are written by the publish step from counts
# of files and checks (ops_publication.py) and checked there
KNOWN_TABLES = {
    "pub_indicator_values": "attacked (linear)",
    "pub_indicator_monthly": "a slice of pub_indicator_values",
    "pub_indicator_overview": "a slice of pub_indicator_values",
    "pub_coverage": "ratios to a whole per cent, no counts",
    "pub_registrations": "attacked (linear)",
    "pub_spc": "cross-checked against pub_indicator_values",
    "pub_funnel": "cross-checked against pub_indicator_values",
    "pub_funnel_limits": "a grid over n from published values",
    "pub_casemix": "cross-checked against pub_indicator_values",
    "pub_units": "no counts",
    "pub_suppression": "counts of hidden cells",
    "pub_rankability": "cross-checked against pub_funnel (its published units only)",
}
CELL_COLUMNS = ["family", "level", "unit_id", "region_code", "period_grain", "period_start",
                "numerator", "denominator", "hidden", "den_min"]
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Finding:
    table: str
    cell: str
    route: str

    def __str__(self) -> str:
        return f"{self.table}: {self.cell}: {self.route}"


Reader = Callable[[str], pd.DataFrame]


def audit_release(read: Reader, tables: list[str], k: int,
                  shared_denominators: list[set[str]] | None = None,
                  known_totals: pd.DataFrame | None = None,
                  truth: pd.DataFrame | None = None) -> list[Finding]:
    """Every route by which the tables `read` returns give a hidden count away.

    `read(sql)` runs SQL over the schema `publication`. `known_totals`: cells published outside
    these tables (the registries' monthly registrations, which the data-engineering tables give
    away), as the attacker's extra knowledge. `truth` only speeds the linear attack up.
    """
    findings = [Finding(t, "(whole table)", "not covered by the disclosure audit: say how it is "
                        "protected in regbench.disclosure.release_audit.KNOWN_TABLES")
                for t in tables if t not in KNOWN_TABLES and not t.startswith("pub_ops_")]
    cells = release_cells(read, tables)
    if known_totals is not None and len(known_totals):
        cells = pd.concat([cells, known_totals.assign(den_min=0.0)[CELL_COLUMNS]],
                          ignore_index=True)
    if len(cells):
        result = attack(cells, k=k, shared_denominators=shared_denominators, truth=truth)
        for row in result[result["exposed"].astype(bool)].itertuples(index=False):
            findings.append(Finding(_table_of(row.family), _describe(row), row.route))
    findings += cross_table(read, set(tables), k)
    return findings


def _table_of(family: str) -> str:
    if family.startswith("coverage__"):
        return "pub_coverage"
    if family.startswith("registrations__"):
        return "pub_registrations"
    return "pub_indicator_values"


def _describe(row) -> str:
    where = row.unit_id or row.region_code or "country"
    return f"{row.family} {row.level} {where} {row.period_grain} {row.period_start}"


def release_cells(read: Reader, tables: list[str]) -> pd.DataFrame:
    """The counts a release publishes, as the attacker's cells."""
    frames = []
    if "pub_indicator_values" in tables:
        frames.append(read(
            "SELECT indicator_id AS family, level, unit_id, region_code, period_grain,"
            " period_start, numerator, denominator, suppressed AS hidden"
            " FROM publication.pub_indicator_values"))
    if "pub_registrations" in tables:
        frames.append(read(
            "SELECT 'registrations__' || registry_id AS family, 'unit' AS level, unit_id,"
            " CAST(NULL AS VARCHAR) AS region_code, 'month' AS period_grain, period_start,"
            " 0 AS numerator, registrations AS denominator, suppressed AS hidden, 0 AS den_min"
            " FROM publication.pub_registrations"))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=CELL_COLUMNS)
    cells = pd.concat(frames, ignore_index=True)
    cells["den_min"] = cells["den_min"].fillna(1.0) if "den_min" in cells else 1.0
    cells["period_start"] = pd.to_datetime(cells["period_start"]).dt.date
    cells["hidden"] = cells["hidden"].fillna(False).astype(bool)
    return cells


# (table, SQL selecting a description of each violating row, the route)
CROSS_CHECKS = [
    ("pub_spc", """
        SELECT s.indicator_id || ' unit ' || s.unit_id || ' month ' || CAST(s.period_start AS VARCHAR)
        FROM publication.pub_spc AS s
        LEFT JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = s.indicator_id AND v.level = 'unit' AND v.unit_id = s.unit_id
         AND v.period_grain = 'month' AND v.period_start = s.period_start
        WHERE v.value_key IS NULL OR v.suppressed OR abs(s.rate - v.rate) > {tol}
           OR (s.rate IS NULL) <> (v.rate IS NULL)""",
     "a p-chart point (rate or limits, which invert to n) of a cell the values table hides"),
    ("pub_spc", """
        SELECT s.indicator_id || ' unit ' || s.unit_id
        FROM (SELECT DISTINCT indicator_id, unit_id, centre FROM publication.pub_spc) AS s
        JOIN (SELECT indicator_id, unit_id,
                     CAST(sum(numerator) AS DOUBLE PRECISION) / sum(denominator) AS centre
              FROM publication.pub_indicator_values
              WHERE level = 'unit' AND period_grain = 'month' AND NOT suppressed
                AND denominator > 0
              GROUP BY indicator_id, unit_id) AS p
          ON p.indicator_id = s.indicator_id AND p.unit_id = s.unit_id
        WHERE abs(s.centre - p.centre) > {tol}""",
     "a centre line not computed from the published months alone (it holds a hidden month)"),
    ("pub_funnel", """
        SELECT f.indicator_id || ' unit ' || f.unit_id || ' ' || f.period_grain || ' '
               || CAST(f.period_start AS VARCHAR)
        FROM publication.pub_funnel AS f
        LEFT JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = f.indicator_id AND v.level = 'unit' AND v.unit_id = f.unit_id
         AND v.period_grain = f.period_grain AND v.period_start = f.period_start
        WHERE v.value_key IS NULL OR v.suppressed OR f.denominator <> v.denominator
           OR abs(f.rate - v.rate) > {tol}""",
     "a funnel point of a cell the values table hides"),
    ("pub_funnel", """
        SELECT DISTINCT f.indicator_id || ' ' || f.period_grain || ' ' || CAST(f.period_start AS VARCHAR)
        FROM publication.pub_funnel AS f
        LEFT JOIN publication.pub_indicator_values AS n
          ON n.indicator_id = f.indicator_id AND n.level = 'national'
         AND n.period_grain = f.period_grain AND n.period_start = f.period_start
        WHERE n.value_key IS NULL OR n.suppressed OR abs(f.theta0 - n.rate) > {tol}""",
     "a funnel target that is not the published national rate"),
    ("pub_casemix", """
        SELECT c.indicator_id || ' unit ' || c.unit_id || ' year ' || CAST(c.period_start AS VARCHAR)
        FROM publication.pub_casemix AS c
        LEFT JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = c.indicator_id AND v.level = 'unit' AND v.unit_id = c.unit_id
         AND v.period_grain = 'year' AND v.period_start = c.period_start
        WHERE ((c.observed IS NOT NULL OR c.expected IS NOT NULL OR c.oe_ratio IS NOT NULL)
               AND (v.value_key IS NULL OR v.suppressed OR c.observed <> v.numerator))
           OR (c.patients IS NOT NULL AND (v.value_key IS NULL OR v.denominator IS NULL
               OR c.patients <> v.denominator))""",
     "an observed count, E or O/E of a cell the values table hides"),
    ("pub_casemix", """
        SELECT DISTINCT c.indicator_id || ' year ' || CAST(c.period_start AS VARCHAR)
        FROM publication.pub_casemix AS c
        LEFT JOIN publication.pub_indicator_values AS n
          ON n.indicator_id = c.indicator_id AND n.level = 'national'
         AND n.period_grain = 'year' AND n.period_start = c.period_start
        WHERE (c.expected IS NOT NULL OR c.oe_ratio IS NOT NULL)
          AND (n.value_key IS NULL OR n.suppressed)""",
     "expected counts that add up to a national count the values table hides"),
    ("pub_indicator_monthly", """
        SELECT m.indicator_id || ' unit ' || m.unit_id || ' month ' || CAST(m.period_start AS VARCHAR)
        FROM publication.pub_indicator_monthly AS m
        LEFT JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = m.indicator_id AND v.level = 'unit' AND v.unit_id = m.unit_id
         AND v.period_grain = 'month' AND v.period_start = m.period_start
        WHERE v.value_key IS NULL OR m.suppressed <> v.suppressed
           OR m.numerator <> v.numerator OR m.denominator <> v.denominator
           OR (m.numerator IS NULL) <> (v.numerator IS NULL)
           OR (m.denominator IS NULL) <> (v.denominator IS NULL)""",
     "a monthly value that differs from the values table"),
    ("pub_indicator_overview", """
        SELECT o.indicator_id || ' ' || o.level || ' ' || coalesce(o.unit_id, o.region_code, '')
        FROM publication.pub_indicator_overview AS o
        LEFT JOIN publication.pub_indicator_values AS v
          ON v.indicator_id = o.indicator_id AND v.level = o.level
         AND coalesce(v.unit_id, '') = coalesce(o.unit_id, '')
         AND coalesce(v.region_code, '') = coalesce(o.region_code, '')
         AND v.period_grain = 'rolling_12m' AND v.period_start = o.period_start
        WHERE v.value_key IS NULL
           OR (v.suppressed AND (o.rate IS NOT NULL OR o.rate_text <> '..'
               OR o.coverage_pct IS NOT NULL OR o.completeness_pct IS NOT NULL
               OR o.missing_could_change_level IS NOT NULL))
           OR (v.denominator IS NULL AND o.denominator_text <> '..')""",
     "an overview value of a cell the values table hides"),
    ("pub_indicator_overview", """
        SELECT o.indicator_id || ' ' || o.level || ' ' || coalesce(o.unit_id, o.region_code, '')
        FROM publication.pub_indicator_overview AS o
        LEFT JOIN publication.pub_coverage AS c
          ON c.registry_id = o.registry_id AND c.level = o.level AND c.event_year = o.coverage_year
         AND coalesce(c.unit_id, '') = coalesce(o.unit_id, '')
         AND (o.level = 'unit' OR c.region_code = o.region_code)
        WHERE o.coverage_pct IS NOT NULL
          AND (c.coverage IS NULL OR abs(o.coverage_pct - 100 * c.coverage) > 0.5)""",
     "a coverage beside a value that pub_coverage hides or does not show"),
    ("pub_rankability", """
        SELECT r.indicator_id || ' ' || r.period_grain || ' ' || CAST(r.period_start AS VARCHAR)
        FROM publication.pub_rankability AS r
        LEFT JOIN (SELECT indicator_id, period_grain, period_start, count(*) AS n_units,
                          min(tau2) AS tau2_min, max(tau2) AS tau2,
                          percentile_cont(0.5) WITHIN GROUP
                              (ORDER BY theta0 * (1 - theta0) / denominator) AS median_s2
                   FROM publication.pub_funnel
                   GROUP BY indicator_id, period_grain, period_start) AS f
          ON f.indicator_id = r.indicator_id AND f.period_grain = r.period_grain
         AND f.period_start = r.period_start
        WHERE f.n_units IS NULL OR f.n_units <> r.n_units OR f.tau2_min <> f.tau2
           OR abs(f.tau2 - r.tau2) > {tol} * (abs(f.tau2) + abs(r.tau2))
           OR abs(f.median_s2 - r.median_s2) > {tol} * (f.median_s2 + r.median_s2)
           OR abs(r.rankability - r.tau2 / (r.tau2 + r.median_s2)) > {tol}""",
     "a rankability not computed from the funnel's published units alone"),
]


def cross_table(read: Reader, tables: set[str], k: int = 5) -> list[Finding]:
    findings = []
    for table, sql, route in CROSS_CHECKS:
        if table not in tables or "pub_indicator_values" not in tables:
            if table in tables:
                findings.append(Finding(table, "(whole table)",
                                        "published without pub_indicator_values to check it"))
            continue
        rows = read(sql.format(tol=TOLERANCE, k=k))
        for cell in rows.iloc[:, 0].head(20):
            findings.append(Finding(table, str(cell), route))
        if len(rows) > 20:
            findings.append(Finding(table, f"... and {len(rows) - 20} more", route))
    return findings
