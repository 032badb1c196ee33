"""Provision Superset from the bundle: import the assets, then roles, row-level security and users.

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
from regbench.superset_api import SupersetClient

REGISTRY_MANAGER_ROLE = "regbench_registerhallare"
ENGINEER_DATASETS = ["pub_ops_ingestion", "pub_ops_dq_results", "pub_ops_freshness"]
MANAGER_DATASETS = ["pub_registrations", "pub_coverage", "pub_ops_unit_findings"]
NETWORK_DATASETS = ["pub_indicator_overview", "pub_spc", "funnel_latest"]


def network_role(registry_id: str) -> str:
    return f"regbench_natverk_{registry_id}"


@dataclass
class DeployReport:
    dashboards: int = 0
    charts: int = 0
    roles_created: list[str] = field(default_factory=list)
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


def _ensure_rls(client: SupersetClient, name: str, clause: str, role_id: int, table_ids: list[int],
                report: DeployReport) -> None:
    body = {"name": name, "filter_type": "Regular", "clause": clause, "roles": [role_id],
            "tables": table_ids, "group_key": "registry",
            "description": "regbench: a network sees only its registry's rows"}
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
    for registry_id in spec.NETWORKS:
        name = network_role(registry_id)
        role_id = roles[name] = _ensure_role(client, name, report)
        _grant(client, role_id, NETWORK_DATASETS, permissions)
        _ensure_rls(client, f"regbench {registry_id}", f"registry_id = '{registry_id}'", role_id,
                    [ids[n] for n in NETWORK_DATASETS], report)
    manager = roles[REGISTRY_MANAGER_ROLE] = _ensure_role(client, REGISTRY_MANAGER_ROLE, report)
    _grant(client, manager, NETWORK_DATASETS + MANAGER_DATASETS, permissions)
    # Dashboard RBAC: a network's dashboard, in every language, is visible to its role, the
    # registry managers and admins only; the registry managers' to them; data engineering to admins.
    for dash in spec.dashboards():
        if dash.slug not in dashboards:
            continue
        if dash.registry_id:
            role_ids = [roles[network_role(dash.registry_id)], manager]
        elif dash.family == "registerhallare":
            role_ids = [manager]
        else:
            role_ids = []  # data engineering: admins
        client.put(f"/api/v1/dashboard/{dashboards[dash.slug]}", json={"roles": role_ids})
    return roles


def provision_users(client: SupersetClient, users_file: Path, roles: dict[str, int],
                    report: DeployReport) -> None:
    """Users from a YAML list of {username, first_name, last_name, email, role, password_env}."""
    config = yaml.safe_load(users_file.read_text(encoding="utf-8")) or {}
    gamma = _find(client, "security/roles", "name", "Gamma")
    for user in config.get("users", []):
        role = user["role"]
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
    wrong = bundle.problems(files)
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
