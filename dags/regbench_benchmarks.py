"""Build, audit and publish the benchmark marts when any registry's raw data changed."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from regbench.config import get_settings
from regbench.contracts import load_contracts
from regbench.dag_assets import WAREHOUSE_POOL, raw_asset

_assets = [raw_asset(rid) for rid in sorted(load_contracts(get_settings().contracts_dir))]


@dag(
    dag_id="benchmarks",
    description="dbt build of the marts → warehouse checks → publication layer → audit → publish",
    schedule=_assets,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["regbench", "marts"],
    default_args={"retries": 0},
)
def benchmarks():
    @task(pool=WAREHOUSE_POOL)
    def dbt_build_marts() -> dict:
        from regbench import nightly

        return nightly.build_marts()

    @task(pool=WAREHOUSE_POOL)
    def check_warehouse(_: dict) -> dict:
        from regbench import nightly

        return nightly.check_warehouse()

    @task(pool=WAREHOUSE_POOL)
    def dbt_build_publication(_: dict) -> dict:
        from regbench import nightly

        return nightly.build_publication()

    @task(pool=WAREHOUSE_POOL)
    def audit(_: dict) -> dict:
        from regbench import nightly

        return nightly.audit()

    @task(pool=WAREHOUSE_POOL)
    def publish(audit_report: dict) -> dict:
        from regbench import nightly

        return nightly.publish(held=audit_report.get("held"))

    publish(audit(dbt_build_publication(check_warehouse(dbt_build_marts()))))


benchmarks()
