"""Who sees what in Superset, through its REST API: a network member only its own registry, and
nothing hidden recoverable from the datasets its role can query (the attack of docs/disclosure.md)."""

import pytest
from superset_support import NETWORK_USERS, USER_ROLES

from regbench.dashboards import spec
from regbench.dashboards.deploy import network_role
from regbench.superset_api import SupersetClient

pytestmark = [pytest.mark.slow]


def _rows_by_registry(client: SupersetClient, dataset_id: int):
    body = {"datasource": {"id": dataset_id, "type": "table"}, "result_format": "json",
            "result_type": "full",
            "queries": [{"columns": ["registry_id"], "row_limit": 1000,
                         "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)",
                                      "label": "n"}]}]}
    return client.http.post("/api/v1/chart/data", json=body)


@pytest.mark.parametrize("registry_id", list(spec.NETWORKS))
def test_a_network_user_sees_only_its_registry(superset, registry_id):
    stack, _, _ = superset
    user = NETWORK_USERS[registry_id]
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        datasets = {d["table_name"]: d["id"] for d in admin.list_all("dataset", ["id", "table_name"])}
        dashboards = {d["slug"]: d["id"] for d in admin.list_all("dashboard", ["id", "slug"])}
        charts = {c["uuid"]: c["id"] for c in admin.list_all("chart", ["id", "uuid"])}
        everything = _rows_by_registry(admin, datasets["pub_indicator_overview"]).json()
        assert {r["registry_id"] for r in everything["result"][0]["data"]} == set(spec.NETWORKS)
    mine = [d for d in spec.dashboards() if d.registry_id == registry_id]
    assert {d.lang for d in mine} == set(spec.LANGUAGES)
    with SupersetClient(stack.url, user, USER_ROLES[user][1]) as member:
        for name in ("pub_indicator_overview", "pub_spc", "funnel_latest"):
            r = _rows_by_registry(member, datasets[name])
            assert r.status_code == 200, r.text
            assert {row["registry_id"] for row in r.json()["result"][0]["data"]} == {registry_id}, name
        for name in ("pub_ops_ingestion", "pub_ops_dq_results", "pub_registrations"):
            assert _rows_by_registry(member, datasets[name]).status_code == 403, name
        # its own dashboard in every language, and no other dashboard in any language
        for dash in spec.dashboards():
            status = member.http.get(f"/api/v1/dashboard/{dashboards[dash.slug]}").status_code
            if dash.registry_id == registry_id:
                assert status == 200, dash.slug
            else:
                assert status in (403, 404), (dash.slug, status)
        # its own charts, Swedish and English, draw from rows; another network's give it none
        for dash in spec.dashboards():
            if not dash.registry_id:
                continue
            for chart in dash.charts:
                r = member.http.get(f"/api/v1/chart/{charts[chart.uuid]}/data/")
                if dash.registry_id == registry_id:
                    assert r.status_code == 200, (chart.key, r.text)
                    assert r.json()["result"][0]["rowcount"] > 0, chart.key
                else:
                    assert r.status_code in (403, 404) or \
                        r.json()["result"][0]["rowcount"] == 0, chart.key
    roles = {r["name"] for r in admin_roles(stack)}
    assert {network_role(r) for r in spec.NETWORKS} <= roles


def _records(client: SupersetClient, dataset_id: int, columns: list[str]):
    import pandas as pd

    body = {"datasource": {"id": dataset_id, "type": "table"}, "result_format": "json",
            "result_type": "full",
            "queries": [{"columns": columns, "metrics": [], "orderby": [], "row_limit": 1_000_000}]}
    r = client.http.post("/api/v1/chart/data", json=body)
    assert r.status_code == 200, r.text
    return pd.DataFrame(r.json()["result"][0]["data"], columns=columns)


def _dates(values):
    import pandas as pd

    return pd.to_datetime(values, unit="ms" if values.dtype.kind in "iuf" else None)


def _member_cells(overview, spc):
    """What a member can rebuild from its datasets: the latest rolling window from the overview
    (numerator = rate × denominator), each published month from the p-chart (n from the limits,
    n = 9·p(1−p)/(ucl−p)²), and every other month of the series and of the window as unknown,
    possibly empty (the member cannot tell a hidden month from a month without cases)."""
    import numpy as np
    import pandas as pd

    cols = ["family", "level", "unit_id", "region_code", "period_grain", "period_start",
            "numerator", "denominator", "hidden", "den_min"]
    rows = []
    overview = overview.assign(start=_dates(overview["period_start"]).dt.date)
    for r in overview.itertuples(index=False):
        den = float(r.denominator_text) if str(r.denominator_text).isdigit() else np.nan
        num = round(r.rate * den) if not (np.isnan(den) or pd.isna(r.rate)) else np.nan
        rows.append((r.indicator_id, r.level, r.unit_id if r.level == "unit" else None,
                     r.region_code if r.level != "national" else None, "rolling_12m", r.start,
                     num, den, bool(r.suppressed) or bool(np.isnan(num)), 1))
    spc = spc.assign(month=_dates(spc["period_start"]).dt.date)
    for r in spc.itertuples(index=False):
        p, ucl = r.centre, r.ucl
        n = float(round(9 * p * (1 - p) / (ucl - p) ** 2)) if 0 < p < 1 and ucl < 1 else np.nan
        rows.append((r.indicator_id, "unit", r.unit_id, r.region_code, "month", r.month,
                     round(r.rate * n) if not np.isnan(n) else np.nan, n, bool(np.isnan(n)), 1))
    cells = pd.DataFrame(rows, columns=cols)
    calendar = set(spc["month"])
    for start in pd.to_datetime(overview["start"]).drop_duplicates():
        calendar |= {(start + pd.DateOffset(months=i)).date() for i in range(12)}
    seen = set(zip(cells["family"], cells["unit_id"], cells["period_grain"],
                   cells["period_start"], strict=True))
    units = cells.loc[cells["level"] == "unit", ["family", "unit_id", "region_code"]]
    unknown = [(f, "unit", u, reg, "month", m, np.nan, np.nan, True, 0)
               for f, u, reg in units.drop_duplicates().itertuples(index=False)
               for m in sorted(calendar) if (f, u, "month", m) not in seen]
    return pd.concat([cells, pd.DataFrame(unknown, columns=cols)], ignore_index=True)


@pytest.mark.parametrize("registry_id", list(spec.NETWORKS))
def test_a_network_member_recovers_no_hidden_count_from_its_datasets(superset, registry_id,
                                                                     caplog):
    """The attack of docs/disclosure.md run by a network member, through the Superset API, on
    the values and p-chart datasets its role can query: nothing hidden can be pinned."""
    from regbench.disclosure.attack import attack

    stack, _, _ = superset
    user = NETWORK_USERS[registry_id]
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        datasets = {d["table_name"]: d["id"] for d in admin.list_all("dataset", ["id", "table_name"])}
    with SupersetClient(stack.url, user, USER_ROLES[user][1]) as member:
        overview = _records(member, datasets["pub_indicator_overview"], [
            "indicator_id", "level", "unit_id", "region_code", "period_start", "rate",
            "denominator_text", "suppressed"])
        spc = _records(member, datasets["pub_spc"], [
            "indicator_id", "unit_id", "region_code", "period_start", "rate", "centre", "ucl"])
    assert len(overview) and len(spc) and overview["suppressed"].any()
    with caplog.at_level("WARNING", logger="regbench.disclosure"):
        found = attack(_member_cells(overview, spc), k=5)
    # a model the published values contradict would prove nothing either way
    assert "Infeasible" not in caplog.text
    exposed = found[found["exposed"]]
    assert exposed.empty, exposed[["family", "unit_id", "period_grain", "route"]].head().to_string()


def admin_roles(stack):
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        return admin.list_all("security/roles")


