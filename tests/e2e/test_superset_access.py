"""Who sees what in Superset, through its REST API: a network member only its own registry, and
nothing hidden recoverable from the datasets its role can query (the attack of docs/disclosure.md);
the access matrix of every role deploy creates (role x dataset x registry, role x dashboard); and
an upgrade from the one registry-manager role of every registry leaves no such role behind
(docs/decisions/0021-registry-manager-roles.md)."""

import pytest
from superset_support import NETWORK_USERS, REPO, USER_ROLES, USERS

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
        for name in sorted({c.dataset.name for d in mine for c in d.charts}):
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


def _spc_dataset(registry_id: str) -> str:
    """The dataset the network's p-chart reads pub_spc through (the table or a query over it)."""
    return next(c.dataset.name for d in spec.dashboards() if d.registry_id == registry_id
                for c in d.charts if c.dataset.name == "pub_spc" or "pub_spc" in (c.dataset.sql or ""))


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
        spc = _records(member, datasets[_spc_dataset(registry_id)], [
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


# The access matrix, written from the rules (README, docs/operations.md "Superset roles"), not read
# back from deploy: the dashboards each role may open; the datasets it may query (those its
# dashboards read, whatever spec.py makes them read) and that it gets only its own registry's rows
# there. The data engineers' datasets are named, so that a spec putting one of them on a dashboard
# a confined role opens fails here too.
ENGINEER_DATASETS = {"pub_ops_ingestion", "pub_ops_dq_results", "pub_ops_freshness"}
EVERY_REGISTRY = frozenset(spec.NETWORKS)
MATRIX_PASSWORD = "matrix-Test-pw-1"


def _read_by(dashboards) -> set[str]:
    """The datasets the charts and filters of these dashboards query."""
    return ({c.dataset.name for d in dashboards for c in d.charts}
            | {dataset.name for d in dashboards for _, _, dataset in d.filters})


def _expected_roles() -> dict[str, str | None]:
    """role -> the registry it is confined to (None: admin, every registry)."""
    return {"admin": None,
            **{f"regbench_natverk_{r}": r for r in spec.NETWORKS},
            **{f"regbench_registerhallare_{r}": r for r in spec.NETWORKS}}


def _expected_rows(role: str) -> dict[str, tuple]:
    """dataset -> (status, the registry_ids it returns, sorted) for a role: admin every dataset
    and every registry; a confined role what its dashboards read, its own registry's rows only."""
    registry = _expected_roles()[role]
    every = _read_by(spec.dashboards())
    queryable = every if role == "admin" else _read_by(
        d for d in spec.dashboards() if d.slug in _expected_dashboards(role))
    expected = {}
    for d in sorted(every):
        seen = EVERY_REGISTRY if registry is None else {registry}
        if d == "pub_ops_dq_results" and registry is None:
            seen = seen | {"all"}  # the audit's checks are over every registry at once
        expected[d] = (200, tuple(sorted(seen))) if d in queryable else (403, None)
    return expected


def _expected_dashboards(role: str) -> set[str]:
    """The slugs a role may open: admin all; a network its own network's; a registry manager its
    own network's and the registry managers'; always both languages."""
    registry = _expected_roles()[role]
    if role == "admin":
        return {d.slug for d in spec.dashboards()}
    return {d.slug for d in spec.dashboards()
            if d.registry_id == registry
            or (role.startswith("regbench_registerhallare_") and d.family == "registerhallare")}


def _user_of_each_role(admin: SupersetClient) -> dict[str, tuple[str, str]]:
    """regbench role -> (username, password): the example user holding it, else a user made here
    the way deploy makes users (Gamma and that one role)."""
    roles = {r["name"]: r["id"] for r in admin.list_all("security/roles")}
    users = {u["username"] for u in admin.list_all("security/users", ["username"])}
    found = {}
    for name, role_id in roles.items():
        if not name.startswith("regbench_"):
            continue
        example = next((u for u, (role, _) in USER_ROLES.items() if role == name), None)
        if example:
            found[name] = (example, USER_ROLES[example][1])
            continue
        username = f"matrix.{name}"
        if username not in users:
            admin.post("/api/v1/security/users/", json={
                "first_name": "Matrix", "last_name": name, "username": username,
                "email": f"{username}@example.se", "active": True,
                "roles": [roles["Gamma"], role_id], "password": MATRIX_PASSWORD})
        found[name] = (username, MATRIX_PASSWORD)
    return found


def _observe(client: SupersetClient, datasets: dict, dashboards: dict):
    """What a user gets: dataset -> (status, registry_ids or None), dataset -> {registry: rows},
    and the dashboards it can open (200; anything but 403/404 is reported as its status)."""
    rows, counts, opened = {}, {}, set()
    for name, dataset_id in datasets.items():
        r = _rows_by_registry(client, dataset_id)
        if r.status_code == 200:
            data = r.json()["result"][0]["data"]
            rows[name] = (200, tuple(sorted({row["registry_id"] for row in data})))
            counts[name] = {row["registry_id"]: row["n"] for row in data}
        else:
            rows[name] = (r.status_code, None)
    for slug, dashboard_id in dashboards.items():
        status = client.http.get(f"/api/v1/dashboard/{dashboard_id}").status_code
        if status == 200:
            opened.add(slug)
        elif status not in (403, 404):
            opened.add(f"{slug}: {status}")
    return rows, counts, opened


def _differences(observed: dict, expected: dict) -> list[tuple]:
    """Where two {role: {key: value}} matrices differ, one line each, readable in a failure."""
    lines = []
    for role in sorted(set(observed) | set(expected)):
        if role not in observed:
            lines.append((role, "not in Superset"))
        elif role not in expected:
            lines.append((role, "a role the matrix does not expect", observed[role]))
        else:
            got, want = observed[role], expected[role]
            lines += [(role, key, "got", got.get(key, "-"), "expected", want.get(key, "-"))
                      for key in sorted(set(got) | set(want)) if got.get(key) != want.get(key)]
    return lines


def test_the_access_matrix_of_every_role(superset):
    """role x dataset x registry and role x dashboard through the REST API, for admin and every
    regbench role in Superset, against the matrix above; a role deploy should not have made (the
    shared registry-manager role of before) shows up as a row the matrix does not expect. Every
    chart of a dashboard a role may open answers (row-level security on a dataset without
    registry_id would break it), and a confined role gets all of its registry's rows."""
    stack, _, _ = superset
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        datasets = {d["table_name"]: d["id"] for d in admin.list_all("dataset", ["id", "table_name"])}
        dashboards = {d["slug"]: d["id"] for d in admin.list_all("dashboard", ["id", "slug"])}
        charts = {c["uuid"]: c["id"] for c in admin.list_all("chart", ["id", "uuid"])}
        users = _user_of_each_role(admin)
        observed = {"admin": _observe(admin, datasets, dashboards)}
    assert set(datasets) == _read_by(spec.dashboards()) and ENGINEER_DATASETS <= set(datasets)
    broken = []
    for role, (username, password) in sorted(users.items()):
        with SupersetClient(stack.url, username, password) as client:
            observed[role] = _observe(client, datasets, dashboards)
            for dash in spec.dashboards():
                if dash.slug not in observed[role][2]:
                    continue
                for chart in dash.charts:
                    r = client.http.get(f"/api/v1/chart/{charts[chart.uuid]}/data/")
                    if r.status_code != 200:
                        broken.append((role, chart.key, r.status_code, r.text[:200]))

    matrix = {role: rows for role, (rows, _, _) in observed.items()}
    # whatever the spec says, no confined role may query the data engineers' datasets
    assert [(role, d) for role, rows in matrix.items() for d in ENGINEER_DATASETS
            if role != "admin" and rows[d][0] != 403] == []
    wrong = _differences(matrix, {role: _expected_rows(role) for role in _expected_roles()})
    assert not wrong, "role x dataset differs:\n" + "\n".join(map(repr, wrong))
    opened = {role: {slug: "open" for slug in seen} for role, (_, _, seen) in observed.items()}
    wrong = _differences(opened, {role: {slug: "open" for slug in _expected_dashboards(role)}
                                  for role in _expected_roles()})
    assert not wrong, "role x dashboard differs:\n" + "\n".join(map(repr, wrong))
    assert broken == []
    everything = observed["admin"][1]
    for role, registry in _expected_roles().items():
        for name, per_registry in observed[role][1].items():
            if registry is not None:
                assert per_registry == {registry: everything[name][registry]}, (role, name)


OLD_SHARED_ROLE = "regbench_registerhallare"


def test_an_upgrade_leaves_no_registry_manager_role_of_every_registry(superset):
    """A Superset provisioned before decision 0021 has one registry-manager role that queries every
    registry's rows; deploying again must leave no role, and no user, with that access."""
    from regbench.dashboards.deploy import deploy

    stack, settings, _ = superset
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        datasets = {d["table_name"]: d["id"] for d in admin.list_all("dataset", ["id", "table_name"])}
        dashboards = {d["slug"]: d["id"] for d in admin.list_all("dashboard", ["id", "slug"])}
        # the old role as the old deploy made it: the network and registry-manager datasets,
        # no row-level security, the registry managers' dashboard
        roles = {r["name"]: r["id"] for r in admin.list_all("security/roles")}
        old = roles.get(OLD_SHARED_ROLE) or \
            admin.post("/api/v1/security/roles/", json={"name": OLD_SHARED_ROLE})["id"]
        views = {f"[{spec.DATABASE_NAME}].[{n}](id:{i})" for n, i in datasets.items()
                 if n not in ENGINEER_DATASETS}
        grants = [pv["id"] for pv in admin.list_all("security/permissions-resources")
                  if pv["permission"]["name"] == "datasource_access"
                  and pv["view_menu"]["name"] in views]
        admin.post(f"/api/v1/security/roles/{old}/permissions",
                   json={"permission_view_menu_ids": grants})
        admin.put(f"/api/v1/dashboard/{dashboards['registerhallare']}", json={"roles": [old]})
        existing = {u["username"] for u in admin.list_all("security/users", ["username"])}
        if "old.registerhallare" not in existing:
            admin.post("/api/v1/security/users/", json={
                "first_name": "Old", "last_name": "Manager", "username": "old.registerhallare",
                "email": "old.registerhallare@example.se", "active": True,
                "roles": [roles["Gamma"], old], "password": MATRIX_PASSWORD})
    with SupersetClient(stack.url, "old.registerhallare", MATRIX_PASSWORD) as user:
        before = _rows_by_registry(user, datasets["pub_registrations"])
        assert before.status_code == 200
        assert {r["registry_id"] for r in before.json()["result"][0]["data"]} == EVERY_REGISTRY

    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
        report = deploy(admin, settings, REPO / "superset", USERS)
        left = {r["name"]: r["id"] for r in admin.list_all("security/roles")}
        assert OLD_SHARED_ROLE not in left, "the shared registry-manager role is still there"
        assert report.roles_removed == [OLD_SHARED_ROLE]
    with SupersetClient(stack.url, "old.registerhallare", MATRIX_PASSWORD) as user:
        for name, dataset_id in datasets.items():
            assert _rows_by_registry(user, dataset_id).status_code == 403, name
        for slug, dashboard_id in dashboards.items():
            assert user.http.get(f"/api/v1/dashboard/{dashboard_id}").status_code in (403, 404), slug
