"""Refuse to start a production component with a demo key, a default password or a missing secret.

Every container entrypoint runs `regbench check-config --for <component>` first; demo mode
(REGBENCH_DEMO=1) skips the checks, because there everything is generated locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlparse

from regbench.pseudonym import PseudonymKeyError, load_key

PLACEHOLDERS = {"", "change_me", "change-me", "changeme", "postgres", "password", "admin", "secret",
                "regbench", "airflow", "superset", "xxxxxxxxxx"}
MIN_SECRET = 16

# component -> (connection strings it needs, other secrets it needs)
COMPONENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "airflow": (("REGBENCH_POSTGRES_DSN", "REGBENCH_LOADER_DSN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                 "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"),
                ("REGBENCH_PSEUDONYM_KEY",)),
    "superset": (("SUPERSET_METADATA_URI",), ("SUPERSET_SECRET_KEY", "REGBENCH_SUPERSET_ADMIN_PASSWORD")),
    "provision": (("REGBENCH_SUPERSET_READER_DSN",), ("REGBENCH_SUPERSET_ADMIN_PASSWORD",)),
}


def _weak(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS or len(value) < MIN_SECRET


def problems(component: str, env: Mapping[str, str]) -> list[str]:
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENTS)}")
    if env.get("REGBENCH_DEMO", "").strip().lower() in {"1", "true", "yes", "on"}:
        return []
    dsns, secrets = COMPONENTS[component]
    found = []
    for name in dsns:
        dsn = env.get(name, "")
        if not dsn:
            found.append(f"{name} is not set")
            continue
        # urlparse rejects "_" in a scheme (postgresql+psycopg_async), so parse without it
        password = unquote(urlparse("db://" + dsn.split("://", 1)[-1]).password or "")
        if _weak(password):
            found.append(f"{name} has an empty, default or short password (at least {MIN_SECRET} "
                         "characters; see .env.example)")
    for name in secrets:
        if name == "REGBENCH_PSEUDONYM_KEY":
            try:
                load_key(demo_mode=False, env=env)
            except PseudonymKeyError as exc:
                found.append(str(exc))
            continue
        if _weak(env.get(name, "")):
            found.append(f"{name} is missing, a default or shorter than {MIN_SECRET} characters")
    return found
