"""One ingest DAG per registry, generated from the contracts in registries/.

Thin wrapper: all logic is in regbench.nightly. Nothing heavy is imported at parse time.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, dag, task

from regbench.config import get_settings
from regbench.contracts import load_contracts
from regbench.dag_assets import WAREHOUSE_POOL, ingest_schedule, raw_asset


def make_ingest_dag(registry_id: str, registry_name: str, asset: Asset):
    @dag(
        dag_id=f"ingest_{registry_id}",
        description=f"Nightly ingest of {registry_name}",
        schedule=ingest_schedule(),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["regbench", "ingest", registry_id],
        default_args={"retries": 0},
    )
    def ingest_dag():
        @task(outlets=[asset], pool=WAREHOUSE_POOL)
        def ingest() -> dict:
            from regbench import nightly

            return nightly.ingest(registry_id)

        @task
        def fail_on_quarantine(report: dict) -> None:
            from regbench import nightly

            nightly.fail_on_quarantine(report)

        fail_on_quarantine(ingest())

    return ingest_dag()


for _contract in load_contracts(get_settings().contracts_dir).values():
    globals()[f"ingest_{_contract.registry_id}"] = make_ingest_dag(
        _contract.registry_id, _contract.name, raw_asset(_contract.registry_id)
    )
