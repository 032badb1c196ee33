"""What the DAGs share: asset names (producer ingest, consumer benchmarks), the schedule, the pool."""

import os

from airflow.sdk import Asset

# Tasks that write the warehouse take a slot here: one on DuckDB (a single writer), more on
# PostgreSQL. `regbench airflow-init` creates it (REGBENCH_WAREHOUSE_SLOTS sets the size).
WAREHOUSE_POOL = "regbench_warehouse"


def raw_asset(registry_id: str) -> Asset:
    return Asset(name=f"regbench_raw_{registry_id}", uri=f"regbench://raw/{registry_id}")


def ingest_schedule() -> str:
    """Nightly at 02:00 unless REGBENCH_INGEST_SCHEDULE says otherwise (a cron expression)."""
    return os.environ.get("REGBENCH_INGEST_SCHEDULE", "0 2 * * *")
