"""Superset for real: started from .venv-superset on the nightly run's published file, provisioned
twice from the bundle, queried through the REST API as admin and as network users, and looked at
by headless Chromium through the real login form. Screenshots go to test-output/screenshots/."""

import os
import socket
import time
from pathlib import Path

import pytest

from regbench.config import get_settings
from regbench.dashboards import spec
from regbench.dashboards.deploy import network_role
from regbench.superset_api import SupersetClient
from regbench.superset_stack import SupersetStack, stop

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "screenshots"
USERS = REPO / "infra" / "superset" / "users.example.yaml"
PASSWORDS = {"REGBENCH_PW_ANNA": "anna-Test-pw-1", "REGBENCH_PW_ERIK": "erik-Test-pw-1",
             "REGBENCH_PW_MARIA": "maria-Test-pw-1"}
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


def test_provisioning_twice_changes_nothing(superset):
    _, _, [(first, inv1), (second, inv2)] = superset
    assert (first.dashboards, first.charts) == (6, 24)
    assert len(inv1["charts"]) == 24 and len(inv1["dashboards"]) == 6
    assert len(first.roles_created) == 5 and len(first.users_created) == 3
    assert inv2 == inv1
    assert (second.roles_created, second.rls_created, second.users_created) == ([], [], [])


def test_every_chart_returns_rows_through_the_chart_data_api(superset):
    stack, _, _ = superset
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        empty = []
        for chart in admin.list_all("chart", ["id", "slice_name"]):
            result = admin.get(f"/api/v1/chart/{chart['id']}/data/")["result"][0]
            if not result["rowcount"]:
                empty.append(chart["slice_name"])
        assert empty == []


def _rows_by_registry(client: SupersetClient, dataset_id: int):
    body = {"datasource": {"id": dataset_id, "type": "table"}, "result_format": "json",
            "result_type": "full",
            "queries": [{"columns": ["registry_id"], "row_limit": 1000,
                         "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)",
                                      "label": "n"}]}]}
    return client.http.post("/api/v1/chart/data", json=body)


def test_a_network_user_sees_only_its_registry(superset):
    stack, _, _ = superset
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        datasets = {d["table_name"]: d["id"] for d in admin.list_all("dataset", ["id", "table_name"])}
        dashboards = {d["slug"]: d["id"] for d in admin.list_all("dashboard", ["id", "slug"])}
        everything = _rows_by_registry(admin, datasets["pub_indicator_overview"]).json()
        assert {r["registry_id"] for r in everything["result"][0]["data"]} == set(spec.NETWORKS)
    with SupersetClient(stack.url, "anna.njur", PASSWORDS["REGBENCH_PW_ANNA"]) as anna:
        for name in ("pub_indicator_overview", "pub_spc", "funnel_latest"):
            r = _rows_by_registry(anna, datasets[name])
            assert r.status_code == 200, r.text
            assert {row["registry_id"] for row in r.json()["result"][0]["data"]} == {"njur"}, name
        for name in ("pub_ops_ingestion", "pub_ops_dq_results", "pub_registrations"):
            assert _rows_by_registry(anna, datasets[name]).status_code == 403, name
        assert anna.http.get(f"/api/v1/dashboard/{dashboards['natverk-njur']}").status_code == 200
        for slug in ("natverk-palliativ", "datateknik", "registerhallare"):
            assert anna.http.get(f"/api/v1/dashboard/{dashboards[slug]}").status_code in (403, 404)
    roles = {r["name"] for r in admin_roles(stack)}
    assert {network_role(r) for r in spec.NETWORKS} <= roles


def admin_roles(stack):
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        return admin.list_all("security/roles")


def _login(page, url: str, user: str, password: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)


_DRAWN = """hs => hs.map(h => {
  const c = h.querySelector('.chart-container');
  if (!c || c.querySelector('[data-test="loading-indicator"]')) return false;
  if (c.querySelector('table tbody tr')) return true;
  for (const cv of c.querySelectorAll('canvas')) {
    const ctx = cv.getContext('2d');
    if (!ctx || !cv.width || !cv.height) continue;
    const px = ctx.getImageData(0, 0, cv.width, cv.height).data;
    let inked = 0;
    for (let i = 3; i < px.length; i += 64) if (px[i] > 0) inked++;
    if (inked > 50) return true;
  }
  return c.querySelectorAll('svg path').length > 5;
})"""


def _wait_until_drawn(page, slug: str, n_charts: int, timeout: float = 120) -> list[str]:
    """Every chart holder has drawn: a table with rows, an inked canvas or a map's paths; a spinner,
    an empty canvas or an icon-only svg is not drawn. Returns the charts' error texts."""
    page.wait_for_selector(".dashboard-component-chart-holder", timeout=60_000)
    holders = page.locator(".dashboard-component-chart-holder")
    deadline = time.monotonic() + timeout
    drawn: list[bool] = []
    while time.monotonic() < deadline:
        drawn = holders.evaluate_all(_DRAWN)
        if len(drawn) == n_charts and all(drawn):
            break
        time.sleep(1)
    else:
        pytest.fail(f"{slug}: {sum(drawn)}/{n_charts} charts drawn after {timeout:.0f} s")
    return holders.evaluate_all(
        "hs => hs.flatMap(h => Array.from(h.querySelectorAll('.ant-alert-error, "
        "[data-test=\"chart-error\"], .alert-danger')).map(e => e.innerText))")


@pytest.mark.parametrize("who", ["admin", "anna.njur", "maria.registerhallare"])
def test_the_browser_draws_every_dashboard_of_every_role(superset, who):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    stack, _, _ = superset
    password = {"admin": stack.admin_password(), "anna.njur": PASSWORDS["REGBENCH_PW_ANNA"],
                "maria.registerhallare": PASSWORDS["REGBENCH_PW_MARIA"]}[who]
    visible = {
        "admin": [d.slug for d in spec.dashboards()],
        "anna.njur": ["natverk-njur"],
        "maria.registerhallare": [d.slug for d in spec.dashboards() if d.slug != "datateknik"],
    }[who]
    charts = {d.slug: len(d.charts) for d in spec.dashboards()}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1400})
            # the UI asks an outside host for a telemetry pixel; nothing leaves this machine
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith(stack.url) else route.abort())
            page = context.new_page()
            _login(page, stack.url, who, password)
            for slug in visible:
                page.goto(f"{stack.url}/superset/dashboard/{slug}/")
                errors = _wait_until_drawn(page, slug, charts[slug])
                page.screenshot(path=str(SHOTS / f"{who}-{slug}.png"), full_page=True)
                assert errors == [], f"{who} on {slug}: {errors}"
        finally:
            browser.close()
