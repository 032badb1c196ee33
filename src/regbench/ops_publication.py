"""Operational tables for the data-engineering and registry-manager dashboards.

They summarise the ledger and the data-quality results of the night that is being published, so
they are written by the publish step (after the audit), not by dbt (which runs before it). Counts,
percentages and codes only: no pseudonym, row value or free text reaches them.
"""

from __future__ import annotations

from regbench.warehouse import Warehouse

# Checks over the warehouse (and the audit) run every night over the whole history; a day keeps
# only its last run, so a second run on the same day publishes the same figures. Door checks are
# per file and run once per file.
_LATEST_RUNS = """
    SELECT r.* FROM ops.dq_results AS r
    JOIN (SELECT registry_id, stage, CAST(checked_at AS DATE) AS day, MAX(checked_at) AS last_run
          FROM ops.dq_results WHERE stage <> 'door'
          GROUP BY registry_id, stage, CAST(checked_at AS DATE)) AS l
      ON l.registry_id = r.registry_id AND l.stage = r.stage AND l.last_run = r.checked_at
"""
OPS_TABLES: dict[str, str] = {
    "pub_ops_ingestion": """
        SELECT CAST(registry_id AS VARCHAR(32)) AS registry_id,
               CAST(received_at AS DATE) AS received_on,
               CAST(status AS VARCHAR(16)) AS status,
               COUNT(*) AS files,
               CAST(COALESCE(SUM(rows_loaded), 0) AS BIGINT) AS rows_loaded,
               CAST(COALESCE(SUM(rows_rejected), 0) AS BIGINT) AS rows_rejected
        FROM ops.ledger
        GROUP BY registry_id, CAST(received_at AS DATE), status
    """,
    "pub_ops_dq_results": f"""
        SELECT CAST(registry_id AS VARCHAR(32)) AS registry_id,
               CAST(checked_at AS DATE) AS checked_on,
               CAST(stage AS VARCHAR(16)) AS stage,
               CAST(kahn_category AS VARCHAR(16)) AS kahn_category,
               CAST(severity AS VARCHAR(8)) AS severity,
               CAST(status AS VARCHAR(16)) AS status,
               COUNT(*) AS checks
        FROM (SELECT registry_id, checked_at, stage, kahn_category, severity, status
              FROM ops.dq_results WHERE stage = 'door'
              UNION ALL
              SELECT registry_id, checked_at, stage, kahn_category, severity, status
              FROM ({_LATEST_RUNS}) AS w) AS all_results
        GROUP BY registry_id, CAST(checked_at AS DATE), stage, kahn_category, severity, status
    """,
    "pub_ops_unit_findings": """
        SELECT CAST(w.registry_id AS VARCHAR(32)) AS registry_id,
               CAST(w.unit_id AS VARCHAR(64)) AS unit_id,
               CAST(u.unit_name AS VARCHAR(200)) AS unit_name,
               CAST(w.period AS VARCHAR(16)) AS period,
               CAST(w.check_name AS VARCHAR(64)) AS check_name,
               CAST(w.column_name AS VARCHAR(64)) AS column_name,
               CAST(w.kahn_category AS VARCHAR(16)) AS kahn_category,
               CAST(w.severity AS VARCHAR(8)) AS severity,
               CAST(w.status AS VARCHAR(16)) AS status,
               -- an observed value computed from a count the publication hides is hidden with
               -- it: a coverage ratio whose cell is hidden; a registration ratio whose window or
               -- baseline (at most 15 months) holds a hidden month (docs/disclosure.md)
               CAST(CASE
                   WHEN w.check_name = 'coverage' AND EXISTS (
                       SELECT 1 FROM publication.pub_coverage AS c
                       WHERE c.registry_id = w.registry_id AND c.unit_id = w.unit_id
                         AND CAST(c.event_year AS VARCHAR) = w.period AND c.suppressed)
                   THEN NULL
                   WHEN w.check_name = 'registration_frequency' AND EXISTS (
                       SELECT 1 FROM publication.pub_registrations AS r
                       WHERE r.registry_id = w.registry_id AND r.unit_id = w.unit_id
                         AND r.suppressed
                         AND r.period_start > (SELECT max(l.period_start)
                                               FROM publication.pub_registrations AS l
                                               WHERE l.registry_id = w.registry_id)
                                              - INTERVAL '24 months')
                   THEN NULL
                   -- a share of missing values is a count over the unit's registrations,
                   -- which pub_registrations gives: fewer than k missing (or present) values
                   -- show no share (an outside review read 1 of 163 back from 0.61 %)
                   WHEN w.check_name = 'completeness_missing_pct' AND (
                       COALESCE(w.unexpected_count, 0) < {k}
                       OR COALESCE(w.element_count, 0) - COALESCE(w.unexpected_count, 0) < {k})
                   THEN NULL
                   -- a coverage ratio as pub_coverage shows it, to a whole per cent
                   WHEN w.check_name = 'coverage' THEN floor(w.observed_value * 100 + 0.5) / 100
                   ELSE w.observed_value
               END AS DOUBLE PRECISION) AS observed_value,
               CAST(w.threshold_value AS DOUBLE PRECISION) AS threshold_value
        FROM ops.dq_results AS w
        JOIN (SELECT registry_id, MAX(checked_at) AS last_run FROM ops.dq_results
              WHERE stage = 'warehouse' GROUP BY registry_id) AS newest
          ON newest.registry_id = w.registry_id AND newest.last_run = w.checked_at
        -- the name, so the dashboard's unit filter (by name) reaches these findings too
        LEFT JOIN publication.pub_units AS u ON u.registry_id = w.registry_id AND u.unit_id = w.unit_id
        WHERE w.stage = 'warehouse' AND w.unit_id IS NOT NULL
    """,
    "pub_ops_freshness": """
        SELECT CAST(registry_id AS VARCHAR(32)) AS registry_id,
               MAX(received_at) AS last_received_at,
               CAST(CURRENT_DATE - CAST(MAX(received_at) AS DATE) AS INTEGER) AS days_since_delivery,
               CAST(MAX(CASE WHEN status = 'loaded' THEN period END) AS VARCHAR(16))
                   AS last_period_loaded,
               CAST(SUM(CASE WHEN status = 'quarantined' THEN 1 ELSE 0 END) AS BIGINT)
                   AS files_in_quarantine,
               COUNT(*) AS files_received
        FROM ops.ledger
        GROUP BY registry_id
    """,
}


def build_ops_publication(wh: Warehouse, k: int | None = None) -> list[str]:
    """(Re)create the pub_ops_* tables in the publication schema, in one transaction; `k` is the
    disclosure policy's (dbt_project/disclosure_policy.yml) unless given."""
    if k is None:
        from regbench.config import get_settings
        from regbench.disclosure.policy import load_policy

        k = load_policy(get_settings().dbt_project_dir).k
    with wh.transaction():
        for name, sql in OPS_TABLES.items():
            wh.execute(f"DROP TABLE IF EXISTS publication.{name}")
            wh.execute(f"CREATE TABLE publication.{name} AS {sql.replace('{k}', str(int(k)))}")
    return list(OPS_TABLES)
