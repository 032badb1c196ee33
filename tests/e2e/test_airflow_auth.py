"""Airflow as compose runs it in production: the FAB auth manager, users from a file created by
`regbench airflow-init --users` (passwords from the environment), and a real api-server that lets
nobody in without a token, refuses a wrong password, and keeps a Viewer to reading."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from regbench.airflow_users import FAB_AUTH_MANAGER

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

REGBENCH = str(Path(sys.executable).with_name("regbench"))
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ADMIN_PW = "Qm7-vX2p-Lr9s-Tk4w"
VIEWER_PW = "Zt3-hB8n-Wc5q-Jy6d"
USERS = """users:
  - {username: ops.admin, email: ops@example.se, role: Admin, password_env: PW_ADMIN}
  - {username: ops.viewer, email: viewer@example.se, role: Viewer, password_env: PW_VIEWER}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    var = tmp_path_factory.mktemp("airflow-auth")
    users = var / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBENCH_", "AIRFLOW"))}
    env.update({"REGBENCH_VAR": str(var), "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
                "PW_ADMIN": ADMIN_PW, "PW_VIEWER": VIEWER_PW})
    runs = [subprocess.run([REGBENCH, "airflow-init", "--users", str(users)], env=env,
                           capture_output=True, text=True, timeout=600) for _ in range(2)]
    port = _free_port()
    from regbench.airflow_env import airflow_env
    from regbench.config import get_settings

    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        server_env = airflow_env(get_settings())
    finally:
        os.environ.clear()
        os.environ.update(old)
    log = var / "api-server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([AIRFLOW, "api-server", "--port", str(port)], env=server_env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(2)
        else:
            pytest.fail(f"api-server not healthy: {log.read_text()[-3000:]}")
        yield url, runs, log
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)


def _token(url: str, user: str, password: str) -> httpx.Response:
    return httpx.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30)


def test_users_come_from_the_file_and_a_second_init_updates_them(api):
    _, (first, second), _ = api
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created: ops.admin, ops.viewer" in first.stdout
    assert second.returncode == 0 and "updated: ops.admin, ops.viewer" in second.stdout
    for run in (first, second):
        assert ADMIN_PW not in run.stdout + run.stderr


def test_nobody_gets_in_without_a_token_or_with_a_wrong_password(api):
    url, _, _ = api
    assert httpx.get(f"{url}/api/v2/dags", timeout=30).status_code == 401
    assert _token(url, "ops.admin", ADMIN_PW + "x").status_code == 401
    assert _token(url, "nobody", ADMIN_PW).status_code == 401
    forged = httpx.get(f"{url}/api/v2/dags", headers={"Authorization": "Bearer abc.def.ghi"}, timeout=30)
    assert forged.status_code in (401, 403), forged.text


def test_the_admin_may_change_and_the_viewer_only_read(api):
    url, _, _ = api
    admin = {"Authorization": f"Bearer {_token(url, 'ops.admin', ADMIN_PW).json()['access_token']}"}
    viewer = {"Authorization": f"Bearer {_token(url, 'ops.viewer', VIEWER_PW).json()['access_token']}"}
    pool = {"name": "regbench_auth_probe", "slots": 1, "include_deferred": False}
    assert httpx.get(f"{url}/api/v2/pools", headers=viewer, timeout=30).status_code == 200
    assert httpx.post(f"{url}/api/v2/pools", json=pool, headers=viewer, timeout=30).status_code == 403
    assert httpx.post(f"{url}/api/v2/pools", json=pool, headers=admin, timeout=30).status_code in (200, 201)


def test_no_password_is_printed_to_the_log(api):
    _, _, log = api
    text = log.read_text(encoding="utf-8", errors="replace")
    # SimpleAuthManager prints generated passwords ("Password for user ..."); FAB prints none
    assert "Password for user" not in text
    assert ADMIN_PW not in text and VIEWER_PW not in text
