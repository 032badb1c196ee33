"""Provision Superset from the bundle: import the assets, then roles, row-level security and users.

Every role deploy makes belongs to one registry and sees only that registry's rows: a network's
role opens its network's dashboard, the registry's registry-manager role that one and the
registry managers'; each may query exactly the datasets its dashboards read, with row-level
security `registry_id = '<registry>'` on every one of them
(docs/decisions/0021-registry-manager-roles.md). The data-engineering dashboard is for admins. The
shared registry-manager role of earlier versions, which queried every registry, is removed.

Idempotent: the assets API updates by UUID, and roles, rules and users are created only when
missing and otherwise brought back to what the config says.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse

import yaml

from regbench.config import Settings
from regbench.dashboards import bundle, spec
from regbench.publish import LIVE_SCHEMA_PG
from regbench.superset_api import SupersetAPIError, SupersetClient

# Roles earlier versions made and deploy now removes: the one registry-manager role that queried
# every registry's rows, with no row-level security (decision 0021).
RETIRED_ROLES = ["regbench_registerhallare"]
MANAGERS_DASHBOARD = "registerhallare"  # the registry managers' dashboard (family)


def network_role(registry_id: str) -> str:
    return f"regbench_natverk_{registry_id}"


def manager_role(registry_id: str) -> str:
    return f"regbench_registerhallare_{registry_id}"


def role_dashboards(registry_id: str) -> dict[str, list[spec.Dashboard]]:
    """The registry's roles and the dashboards each may open, in every language."""
    network = [d for d in spec.dashboards() if d.registry_id == registry_id]
    managers = [d for d in spec.dashboards() if d.family == MANAGERS_DASHBOARD]
    return {network_role(registry_id): network, manager_role(registry_id): network + managers}


def datasets_read(dashboards: list[spec.Dashboard]) -> list[str]:
    """Every dataset the charts and filters of these dashboards query: what a role that opens
    them must be granted, and confined on."""
    return sorted({c.dataset.name for d in dashboards for c in d.charts}
                  | {dataset.name for d in dashboards for _, _, dataset in d.filters})


def rls_column_problems(files: dict[str, dict]) -> list[str]:
    """Every dataset a role is confined on must have the column its rule filters: a rule on a
    dataset without it breaks every chart of that dataset for that role."""
    columns = {f["table_name"]: {c["column_name"] for c in f.get("columns", [])}
               for name, f in files.items() if name.startswith("datasets/")}
    confined = sorted({n for r in spec.NETWORKS for dashboards in role_dashboards(r).values()
                       for n in datasets_read(dashboards)})
    return [f"dataset {n}: no registry_id column, which its row-level security filters on"
            if n in columns else f"dataset {n}: not in the bundle"
            for n in confined if "registry_id" not in columns.get(n, ())]


@dataclass
class DeployReport:
    dashboards: int = 0
    charts: int = 0
    roles_created: list[str] = field(default_factory=list)
    roles_removed: list[str] = field(default_factory=list)
    rls_created: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)


def database_connection(settings: Settings) -> tuple[str, dict, str | None]:
    """(sqlalchemy URI without password, engine params, password) for the publication reader."""
    if settings.warehouse == "duckdb":
        return (f"duckdb:///{settings.published_path}",
                {"connect_args": {"read_only": True}}, None)
    dsn = os.environ.get("REGBENCH_SUPERSET_READER_DSN")
    if not dsn:
        raise RuntimeError(
            "REGBENCH_SUPERSET_READER_DSN is not set: on PostgreSQL, Superset reads the publication"
            " views of schema published as the read-only reader role (infra/postgres/), e.g."
            " postgresql://regbench_reader:<password>@127.0.0.1:5432/regbench"
        )
    u = urlparse(dsn)
    netloc = f"{quote(u.username or '')}:XXXXXXXXXX@{u.hostname}:{u.port or 5432}"
    return (f"postgresql+psycopg2://{netloc}{u.path}", {}, u.password or "")


def import_bundle(client: SupersetClient, settings: Settings, files: dict[str, dict]) -> None:
    uri, engine_params, password = database_connection(settings)
    live_schema = LIVE_SCHEMA_PG if settings.warehouse == "postgres" else spec.SCHEMA
    payload = bundle.to_zip(files, uri, engine_params, live_schema)
    passwords = {}
    if password is not None:
        db_file = next(n for n in files if n.startswith("databases/"))
        # Superset matches passwords by the path inside the bundle without its root folder
        passwords[db_file] = password
    client.request(
        "POST", "/api/v1/assets/import/",
        files={"bundle": ("regbench_bundle.zip", payload, "application/zip")},
        data={"passwords": json.dumps(passwords), "overwrite": "true"},
    )


def _find(client: SupersetClient, resource: str, column: str, value: str) -> dict | None:
    q = f"(filters:!((col:{column},opr:eq,value:'{value}')),page_size:100)"
    rows = client.get(f"/api/v1/{resource}/?q={q}")["result"]
    return next((r for r in rows if r.get(column) == value), None)


def _ensure_role(client: SupersetClient, name: str, report: DeployReport) -> int:
    existing = _find(client, "security/roles", "name", name)
    if existing:
        return existing["id"]
    report.roles_created.append(name)
    return client.post("/api/v1/security/roles/", json={"name": name})["id"]


def _dataset_ids(client: SupersetClient) -> dict[str, int]:
    return {d["table_name"]: d["id"]
            for d in client.list_all("dataset", ["id", "table_name"])}


def _datasource_permissions(client: SupersetClient, ids: dict[str, int]) -> dict[str, int]:
    """dataset name -> permission-view id of `datasource_access` on it (one listing)."""
    by_view = {f"[{spec.DATABASE_NAME}].[{name}](id:{i})": name for name, i in ids.items()}
    return {by_view[pv["view_menu"]["name"]]: pv["id"]
            for pv in client.list_all("security/permissions-resources")
            if pv["permission"]["name"] == "datasource_access" and pv["view_menu"]["name"] in by_view}


def _grant(client: SupersetClient, role_id: int, names: list[str], permissions: dict[str, int]) -> None:
    missing = [n for n in names if n not in permissions]
    if missing:
        raise RuntimeError(f"Superset has no datasource_access permission on {missing}")
    client.post(f"/api/v1/security/roles/{role_id}/permissions",
                json={"permission_view_menu_ids": [permissions[n] for n in names]})


def _ensure_rls(client: SupersetClient, name: str, clause: str, role_ids: list[int],
                table_ids: list[int], report: DeployReport) -> None:
    body = {"name": name, "filter_type": "Regular", "clause": clause, "roles": role_ids,
            "tables": table_ids, "group_key": "registry",
            "description": "regbench: a registry's roles see only its rows"}
    existing = _find(client, "rowlevelsecurity", "name", name)
    if existing:
        client.put(f"/api/v1/rowlevelsecurity/{existing['id']}", json=body)
    else:
        client.post("/api/v1/rowlevelsecurity/", json=body)
        report.rls_created.append(name)


def _dashboard_ids(client: SupersetClient) -> dict[str, int]:
    return {d["slug"]: d["id"] for d in client.list_all("dashboard", ["id", "slug"])}


def provision_access(client: SupersetClient, report: DeployReport) -> dict[str, int]:
    ids = _dataset_ids(client)
    permissions = _datasource_permissions(client, ids)
    dashboards = _dashboard_ids(client)
    roles: dict[str, int] = {}
    audience: dict[str, list[int]] = {d.slug: [] for d in spec.dashboards()}  # slug -> role ids
    for registry_id in spec.NETWORKS:
        confined: set[int] = set()
        for name, opens in role_dashboards(registry_id).items():
            roles[name] = _ensure_role(client, name, report)
            granted = datasets_read(opens)
            _grant(client, roles[name], granted, permissions)
            confined |= {ids[n] for n in granted}
            for dash in opens:
                audience[dash.slug].append(roles[name])
        # one rule for both of the registry's roles, on every dataset either may query
        _ensure_rls(client, f"regbench {registry_id}", f"registry_id = '{registry_id}'",
                    [roles[n] for n in role_dashboards(registry_id)], sorted(confined), report)
    # Dashboard RBAC: each dashboard, in every language, to the roles that open it (a network's
    # to its network and its registry's managers, the registry managers' to every registry's
    # managers, each seeing its own rows there) and admins; data engineering to admins only.
    for slug, role_ids in audience.items():
        if slug in dashboards:
            client.put(f"/api/v1/dashboard/{dashboards[slug]}", json={"roles": role_ids})
    _retire_roles(client, report)
    return roles


def _retire_roles(client: SupersetClient, report: DeployReport) -> None:
    """Remove the roles earlier versions made that see more than one registry. Its permissions go
    first, so that if Superset refuses the delete the role is left able to query nothing; its
    users keep their other roles (a user of the users file gets its new role from it)."""
    for name in RETIRED_ROLES:
        role = _find(client, "security/roles", "name", name)
        if role is None:
            continue
        client.post(f"/api/v1/security/roles/{role['id']}/permissions",
                    json={"permission_view_menu_ids": []})
        try:
            client.delete(f"/api/v1/security/roles/{role['id']}")
        except SupersetAPIError as e:
            report.roles_removed.append(f"{name} (its permissions removed; Superset refused to"
                                        f" delete it: HTTP {e.status_code})")
        else:
            report.roles_removed.append(name)


def provision_users(client: SupersetClient, users_file: Path, roles: dict[str, int],
                    report: DeployReport) -> None:
    """Users from a YAML list of {username, first_name, last_name, email, role, password_env}."""
    config = yaml.safe_load(users_file.read_text(encoding="utf-8")) or {}
    gamma = _find(client, "security/roles", "name", "Gamma")
    for user in config.get("users", []):
        role = user["role"]
        if role in RETIRED_ROLES:
            raise ValueError(f"{users_file}: user {user['username']!r} has role {role!r}, which saw"
                             " every registry and is gone (docs/decisions/0021): give the user"
                             f" {manager_role('<registry>')} of the registry they manage")
        if role not in roles:
            raise ValueError(f"{users_file}: user {user['username']!r} has unknown role {role!r};"
                             f" known: {', '.join(sorted(roles))}")
        password = os.environ.get(user["password_env"])
        if not password:
            raise ValueError(f"{users_file}: user {user['username']!r}: set {user['password_env']}"
                             " in the environment (passwords never live in the file)")
        body = {"first_name": user.get("first_name", user["username"]),
                "last_name": user.get("last_name", "-"), "username": user["username"],
                "email": user["email"], "active": True, "roles": [gamma["id"], roles[role]]}
        existing = _find(client, "security/users", "username", user["username"])
        if existing:
            client.put(f"/api/v1/security/users/{existing['id']}", json={**body, "password": password})
        else:
            client.post("/api/v1/security/users/", json={**body, "password": password})
            report.users_created.append(user["username"])


def deploy(client: SupersetClient, settings: Settings, bundle_dir: Path,
           users_file: Path | None = None) -> DeployReport:
    files = bundle.read(bundle_dir)
    wrong = bundle.problems(files) + rls_column_problems(files)
    if wrong:
        raise RuntimeError("the dashboards bundle is not deployable:\n  " + "\n  ".join(wrong))
    import_bundle(client, settings, files)
    report = DeployReport(
        dashboards=sum(n.startswith("dashboards/") for n in files),
        charts=sum(n.startswith("charts/") for n in files),
    )
    roles = provision_access(client, report)
    if users_file is not None:
        provision_users(client, users_file, roles, report)
    return report
