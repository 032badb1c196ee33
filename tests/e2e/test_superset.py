"""Superset for real: started from .venv-superset on the nightly run's published file, provisioned
twice from the bundle, queried through the REST API as admin and as a user of every network, and
looked at by headless Chromium through the real login form as admin, a user of every network and
the registry manager, in Swedish and in English. Screenshots go to test-output/screenshots/."""

import os
import time

import pytest
from superset_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INDICATOR_NAMES,
    MANAGER,
    MANAGER_REGISTRY,
    NETWORK_USERS,
    SHOTS,
    USER_ROLES,
)

from regbench.dashboards import spec
from regbench.dashboards.deploy import network_role
from regbench.superset_api import SupersetClient

pytestmark = [pytest.mark.slow]


def test_provisioning_twice_changes_nothing(superset):
    _, _, [(first, inv1), (second, inv2)] = superset
    assert (first.dashboards, first.charts) == (12, 48)
    assert len(inv1["charts"]) == 48 and len(inv1["dashboards"]) == 12
    assert {slug for _, slug in inv1["dashboards"]} == {d.slug for d in spec.dashboards()}
    # a network role and a registry-manager role per registry, one row-level rule per registry
    assert len(first.roles_created) == 2 * len(spec.NETWORKS)
    assert len(first.rls_created) == len(spec.NETWORKS) and first.roles_removed == []
    assert len(first.users_created) == len(USER_ROLES) == 5
    assert inv2 == inv1
    assert (second.roles_created, second.roles_removed, second.rls_created,
            second.users_created) == ([], [], [], [])


def test_every_chart_returns_rows_through_the_chart_data_api(superset):
    stack, _, _ = superset
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        charts = admin.list_all("chart", ["id", "uuid", "slice_name"])
        assert {c["uuid"] for c in charts} == {c.uuid for d in spec.dashboards() for c in d.charts}
        empty = []
        for chart in charts:
            result = admin.get(f"/api/v1/chart/{chart['id']}/data/")["result"][0]
            if not result["rowcount"]:
                empty.append(chart["slice_name"])
        assert empty == []


def _login(page, url: str, user: str, password: str) -> None:
    from playwright.sync_api import expect

    # the login form is drawn by the SPA; on a loaded machine it can be drawn again after the
    # first fill, which empties it, so fill only once the page is quiet and check what it holds.
    # A sign-in that leaves the browser on an empty form (seen under load in CI, 2026-11-28, no
    # error shown) is submitted again, as a reader would; a wrong password never gets past it.
    for attempt in (1, 2, 3):
        page.goto(f"{url}/login/", wait_until="networkidle", timeout=120_000)
        page.fill("#username", user)
        page.fill("#password", password)
        expect(page.locator("#username")).to_have_value(user)
        expect(page.locator("#password")).to_have_value(password)
        page.click("button[type=submit]")
        try:
            # a wait, not a speed check: on a loaded 2-core machine Superset's first page after
            # login took over 30 s for a user with row-level security (CI, 2026-11-28)
            page.wait_for_url(lambda u: "/login" not in u, timeout=90_000, wait_until="commit")
            return
        except Exception:
            page.screenshot(path=str(SHOTS / f"{user}-LOGIN-FAILED-{attempt}.png"), full_page=True)
    pytest.fail(f"{user} still on {page.url} after three sign-ins; the page says: "
                f"{page.locator('body').inner_text(timeout=5_000)[:500]!r}")


# The chart holders of a dashboard; a markdown cell uses the same class and is not a chart.
_CHART_HOLDERS = ("hs => hs.filter(h => !h.closest('.dashboard-markdown'))")
_DRAWN = """hs => hs.filter(h => !h.closest('.dashboard-markdown')).map(h => {
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
        _CHART_HOLDERS + ".flatMap(h => Array.from(h.querySelectorAll('.ant-alert-error, "
        "[data-test=\"chart-error\"], .alert-danger')).map(e => e.innerText))")


_TITLE_IS = """t => {
  const title = document.querySelector('[data-test="editable-title-input"]');
  return title !== null && title.value === t;
}"""


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for every user's test; each test gets its own context."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _visible(who: str) -> list[spec.Dashboard]:
    """What each user may open: admin everything, the registry manager its own registry's network
    and the registry managers' dashboard, a network member its own network, always in every
    language."""
    if who == "admin":
        return spec.dashboards()
    role, _ = USER_ROLES[who]
    if who == MANAGER:
        assert role == f"regbench_registerhallare_{MANAGER_REGISTRY}", role
        return [d for d in spec.dashboards()
                if d.family == "registerhallare" or d.registry_id == MANAGER_REGISTRY]
    return [d for d in spec.dashboards() if d.registry_id and network_role(d.registry_id) == role]


@pytest.mark.parametrize("who", ["admin", *NETWORK_USERS.values(), MANAGER])
def test_the_browser_draws_every_dashboard_of_every_role(superset, browser, who):
    stack, _, _ = superset
    password = stack.admin_password() if who == "admin" else USER_ROLES[who][1]
    by_slug = {d.slug: d for d in _visible(who)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1600, "height": 1400})
    try:
        # the UI asks an outside host for a telemetry pixel; nothing leaves this machine
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(stack.url) else route.abort())
        page = context.new_page()
        _login(page, stack.url, who, password)
        seen = []
        try:
            _draw_both_languages(page, stack.url, who, by_slug, seen)
        except BaseException:  # pytest.fail raises an outcome, not an Exception
            page.screenshot(path=str(SHOTS / f"{who}-FAILED.png"), full_page=True)
            raise
        assert sorted(seen) == sorted(by_slug)
    finally:
        context.close()


def _draw_both_languages(page, url: str, who: str, by_slug: dict, seen: list) -> None:
    """Open each Swedish dashboard, then switch to English through its link, as a reader would;
    every one must draw all its charts without an error."""
    from playwright.sync_api import expect

    for dash in by_slug.values():
        if dash.lang != "sv":
            continue
        page.goto(f"{url}/superset/dashboard/{dash.slug}/")
        current = dash
        while True:
            # this dashboard, not the one before: its title (an input's value) and its link
            page.wait_for_function(_TITLE_IS, arg=current.title, timeout=60_000)
            for other in current.twins.values():
                page.wait_for_selector(
                    f'.dashboard-markdown a[href="/superset/dashboard/{other}/"]', timeout=60_000)
            errors = _wait_until_drawn(page, current.slug, len(current.charts))
            if current.registry_id:
                # the indicator filter offers this network's indicators, named in the page's language
                chosen = page.locator('[data-test="filter-bar"] .ant-select-selection-item').first
                assert chosen.get_attribute("title") in INDICATOR_NAMES[
                    (current.registry_id, current.lang)], current.slug
            # ECharts draws lines left to right over about a second: a screenshot at once shows
            # the funnel's limits and the trend cut off midway
            page.wait_for_timeout(2_000)
            page.screenshot(path=str(SHOTS / f"{who}-{current.slug}.png"), full_page=True)
            assert errors == [], f"{who} on {current.slug}: {errors}"
            seen.append(current.slug)
            twin = current.twins.get("en")
            if twin is None:
                break
            assert twin in by_slug, f"{who} may not open {twin}"
            page.click(f'.dashboard-markdown a[href="/superset/dashboard/{twin}/"]')
            page.wait_for_url(f"**/superset/dashboard/{twin}/**", timeout=120_000)
            current = by_slug[twin]
        # the markdown cell can be drawn again while the filters apply: wait, then count
        expect(page.locator(f'.dashboard-markdown a[href="/superset/dashboard/{dash.slug}/"]'),
               f"{current.slug}: no link back").to_have_count(1, timeout=60_000)
