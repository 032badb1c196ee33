"""`make serve` as a user runs it: `regbench serve` on a night's published data brings up
Superset and Airflow, provisions the dashboards, prints URLs and credentials that work, and
Ctrl-C stops both, leaving no process listening."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time

import httpx
import pytest

from regbench.dashboards import spec

pytestmark = [pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serve_brings_up_both_uis_provisioned_and_ctrl_c_stops_them(
        nightly, nightly_env, regbench_cli, tmp_path):
    shared_var, _, _ = nightly
    var = tmp_path / "var"  # the scheduler may start runs: give it its own copy of the night
    shutil.copytree(shared_var, var, ignore=shutil.ignore_patterns("superset"))
    airflow_port, superset_port = _free_port(), _free_port()
    env = nightly_env(var)
    env.update(REGBENCH_AIRFLOW_PORT=str(airflow_port), REGBENCH_SUPERSET_PORT=str(superset_port))
    out = tmp_path / "serve.out"
    with out.open("w") as fh:
        proc = subprocess.Popen([regbench_cli, "serve"], env=env, stdout=fh, stderr=subprocess.STDOUT,
                                text=True)
    try:
        deadline = time.monotonic() + 420
        while "Ctrl-C stops both" not in out.read_text():
            assert proc.poll() is None, out.read_text()[-3000:]
            assert time.monotonic() < deadline, out.read_text()[-3000:]
            time.sleep(2)
        printed = out.read_text()
        assert f"dashboards deployed: {len(spec.dashboards())} dashboards" in printed
        superset = re.search(r"Superset\s+(http://\S+)\s+user (\S+)\s+password (\S+)", printed)
        airflow = re.search(r"Airflow\s+(http://\S+)\s+user (\S+)\s+password (\S+)", printed)
        assert superset and airflow, printed
        assert superset.group(1) == f"http://127.0.0.1:{superset_port}"
        assert airflow.group(1) == f"http://127.0.0.1:{airflow_port}"

        with httpx.Client(base_url=superset.group(1), timeout=30) as http:
            login = http.post("/api/v1/security/login", json={
                "username": superset.group(2), "password": superset.group(3),
                "provider": "db", "refresh": False})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            dashboards = http.get("/api/v1/dashboard/", headers={"Authorization": f"Bearer {token}"})
            assert dashboards.json()["count"] == len(spec.dashboards()) == 12
        with httpx.Client(base_url=airflow.group(1), timeout=30) as http:
            token = http.post("/auth/token", json={"username": airflow.group(2),
                                                   "password": airflow.group(3)})
            assert token.status_code in (200, 201), token.text
            dags = http.get("/api/v2/dags", headers={
                "Authorization": f"Bearer {token.json()['access_token']}"})
            assert dags.status_code == 200, dags.text
            assert {d["dag_id"] for d in dags.json()["dags"]} >= {"benchmarks", "ingest_njur"}

        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert proc.wait(timeout=90) == 0, out.read_text()[-3000:]
        assert "stopped." in out.read_text()
        time.sleep(2)
        assert not _listening(superset_port) and not _listening(airflow_port)
    finally:
        if proc.poll() is None:
            proc.kill()
