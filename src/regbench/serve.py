"""`regbench serve`: the local stack, Airflow on :8080 and Superset on :8088, provisioned.

Both run as child processes in their own process groups; Ctrl-C (or SIGTERM) stops them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from rich.console import Console

from regbench.airflow_env import airflow_bin, airflow_env, ensure_metadata
from regbench.config import Settings
from regbench.dashboards.deploy import deploy
from regbench.superset_api import SupersetClient
from regbench.superset_stack import SupersetStack, stop, wait_for_http


def ports() -> tuple[int, int]:
    """Airflow's and Superset's ports: 8080 and 8088 unless the environment says otherwise."""
    return (int(os.environ.get("REGBENCH_AIRFLOW_PORT", "8080")),
            int(os.environ.get("REGBENCH_SUPERSET_PORT", "8088")))


def _start_airflow(settings: Settings, what: list[str], log: Path) -> subprocess.Popen:
    env = airflow_env(settings)
    env.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    env["AIRFLOW__API__PORT"] = str(ports()[0])
    env["AIRFLOW__API__HOST"] = "127.0.0.1"
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen([airflow_bin(), *what], env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def airflow_password(settings: Settings) -> str | None:
    path = settings.var / "airflow" / "simple_auth_manager_passwords.json.generated"
    if path.exists():
        return json.loads(path.read_text()).get("admin")
    return None


def serve(settings: Settings, console: Console, bundle_dir: Path, users_file: Path | None) -> None:
    if not settings.published_path.exists() and settings.warehouse == "duckdb":
        raise RuntimeError(f"nothing published yet ({settings.published_path}): run `make run` first")
    procs: list[subprocess.Popen] = []
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    airflow_port, superset_port = ports()
    try:
        stack = SupersetStack(settings, port=superset_port)
        stack.bootstrap(log=lambda m: console.print(f"[dim]{m}"))
        console.print("starting Superset …")
        superset = stack.start()
        procs.append(superset)
        ensure_metadata(settings)
        console.print("starting Airflow (api-server, scheduler, dag-processor) …")
        for what in (["api-server", "--port", str(airflow_port)], ["scheduler"], ["dag-processor"]):
            log = settings.logs / f"airflow-{what[0]}.log"
            procs.append(_start_airflow(settings, what, log))
        stack.wait_healthy(superset)
        with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as client:
            report = deploy(client, settings, bundle_dir, users_file)
        console.print(f"dashboards deployed: {report.dashboards} dashboards, {report.charts} charts")
        wait_for_http(f"http://127.0.0.1:{airflow_port}/api/v2/monitor/health", procs[1],
                      settings.logs / "airflow-api-server.log", timeout=180)
        console.print(f"\n[bold]Superset[/]  {stack.url}   user {stack.admin_user}  password "
                      f"{stack.admin_password()}")
        console.print(f"[bold]Airflow[/]   http://127.0.0.1:{airflow_port}   user admin  password "
                      f"{airflow_password(settings) or '(see the api-server log)'}")
        console.print(f"logs: {settings.logs}    Ctrl-C stops both.")
        while not stopping:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a service exited unexpectedly; see the logs in {settings.logs}")
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping …")
        for p in procs:
            stop(p)
        console.print("stopped.")
