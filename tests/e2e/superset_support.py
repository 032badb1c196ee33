"""What the Superset tests share: the example users and their passwords, the seed's indicator
names, and the fixtures that start one Superset per test module on the e2e nightly run."""

import csv
import socket
from pathlib import Path

import pytest
import yaml

from regbench.config import get_settings
from regbench.dashboards import spec
from regbench.dashboards.deploy import network_role
from regbench.superset_api import SupersetClient
from regbench.superset_stack import SupersetStack, stop

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "screenshots"
USERS = REPO / "infra" / "superset" / "users.example.yaml"
PASSWORDS = {"REGBENCH_PW_ANNA": "anna-Test-pw-1", "REGBENCH_PW_ERIK": "erik-Test-pw-1",
             "REGBENCH_PW_LARS": "lars-Test-pw-1", "REGBENCH_PW_SARA": "sara-Test-pw-1",
             "REGBENCH_PW_MARIA": "maria-Test-pw-1"}
# username -> (role, password) of every user the example file provisions
USER_ROLES = {u["username"]: (u["role"], PASSWORDS[u["password_env"]])
              for u in yaml.safe_load(USERS.read_text(encoding="utf-8"))["users"]}
# registry -> the example user of its network
NETWORK_USERS = {r: next(u for u, (role, _) in USER_ROLES.items() if role == network_role(r))
                 for r in spec.NETWORKS}
# the registry manager the browser test signs in as (of njur: every registry-manager chart has
# rows for it on the demo data) and the registry its role is confined to
MANAGER = "maria.registerhallare"
MANAGER_REGISTRY = "njur"
# (registry, language) -> the names of its indicators, from the seed the marts publish them from
INDICATOR_NAMES: dict = {}
with (REPO / "dbt_project" / "seeds" / "indicators.csv").open(encoding="utf-8") as _f:
    for _row in csv.DictReader(_f):
        for _lang in spec.LANGUAGES:
            INDICATOR_NAMES.setdefault((_row["registry_id"], _lang), set()).add(_row[f"name_{_lang}"])
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def superset(nightly, tmp_path_factory, monkeypatch_module):
    var, _, _ = nightly
    home = tmp_path_factory.mktemp("superset")
    for k, v in {"REGBENCH_DEMO": "1", "REGBENCH_VAR": str(var), "REGBENCH_WAREHOUSE": "duckdb",
                 "SUPERSET_HOME": str(home), **PASSWORDS}.items():
        monkeypatch_module.setenv(k, v)
    settings = get_settings()
    stack = SupersetStack(settings, port=_free_port())
    stack.bootstrap()
    proc = stack.start(log_file=home / "superset.log")
    try:
        stack.wait_healthy(proc, timeout=180)
        from regbench.dashboards.deploy import deploy

        reports = []
        with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
            for _ in range(2):
                reports.append((deploy(admin, settings, REPO / "superset", USERS), _inventory(admin)))
        yield stack, settings, reports
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _inventory(client: SupersetClient) -> dict:
    def ids(resource: str, name: str) -> list:
        return sorted((r["id"], r[name]) for r in client.list_all(resource, ["id", name]))

    return {
        "charts": ids("chart", "slice_name"),
        "datasets": ids("dataset", "table_name"),
        "dashboards": ids("dashboard", "slug"),
        "rls": sorted(r["name"] for r in client.list_all("rowlevelsecurity", ["id", "name"])),
    }


