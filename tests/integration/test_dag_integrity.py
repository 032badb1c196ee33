"""The DAG folder imports cleanly, has one ingest DAG per contract, no cycles, and stays light."""

import json
import subprocess
import sys

import pytest

from regbench.airflow_env import airflow_env
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts

PROBE = r"""
import json, sys, time
t0 = time.monotonic()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
parse_seconds = time.monotonic() - t0

def has_cycle(dag):
    state = {}
    def visit(tid):
        if state.get(tid) == 1:
            return True
        if state.get(tid) == 2:
            return False
        state[tid] = 1
        if any(visit(d) for d in dag.get_task(tid).downstream_task_ids):
            return True
        state[tid] = 2
        return False
    return any(visit(t.task_id) for t in dag.tasks)

print(json.dumps({
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "cycles": [d.dag_id for d in bag.dags.values() if has_cycle(d)],
    "heavy_modules": [m for m in ("great_expectations", "dbt.cli.main", "duckdb", "psycopg")
                      if m in sys.modules],
    "parse_seconds": parse_seconds,
    "tasks": {d.dag_id: sorted(t.task_id for t in d.tasks) for d in bag.dags.values()},
}))
"""


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = airflow_env(get_settings())
    env.update({"REGBENCH_VAR": str(var), "AIRFLOW_HOME": str(var / "airflow"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{var / 'airflow.db'}"})
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT / "dags")],
        env=env, capture_output=True, text=True, check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # recorded, never asserted on (speed goals live in benchmarks/)
    print(f"DAG folder parse time: {result['parse_seconds']:.2f} s")
    return result


def test_no_import_errors(bag):
    assert bag["import_errors"] == {}


def test_one_ingest_dag_per_contract_plus_benchmarks(bag):
    registries = load_contracts(REPO_ROOT / "registries")
    expected = sorted([f"ingest_{r}" for r in registries] + ["benchmarks"])
    assert bag["dag_ids"] == expected


def test_no_cycles(bag):
    assert bag["cycles"] == []


def test_dag_files_import_nothing_heavy_at_parse_time(bag):
    assert bag["heavy_modules"] == []


def test_benchmarks_dag_builds_audits_then_publishes(bag):
    assert bag["tasks"]["benchmarks"] == ["audit", "check_warehouse", "dbt_build_marts",
                                          "dbt_build_publication", "publish"]
