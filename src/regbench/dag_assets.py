"""Asset names shared by the producer (ingest) and consumer (benchmarks) DAGs."""

from airflow.sdk import Asset


def raw_asset(registry_id: str) -> Asset:
    return Asset(name=f"regbench_raw_{registry_id}", uri=f"regbench://raw/{registry_id}")
