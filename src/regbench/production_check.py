"""Refuse to start a production component with a demo key, a placeholder or a weak secret.

Every container entrypoint runs `regbench check-config --for <component>` first; demo mode
(REGBENCH_DEMO=1) skips the checks, because there everything is generated locally. The same rules
are in infra/postgres/init-regbench.sh and infra/superset/entrypoint.sh (shell, for images without
regbench), and tests/unit/test_production_check.py holds all three to the same cases.

A secret is refused when it is
- a placeholder or a default: CHANGE_ME in any spelling, a template (`<...>`, `your-...`), `xxxx`,
  `example`, or a product's name or `password`;
- shorter than its minimum: 16 characters for a password, 32 for a key (the pseudonym key, the
  Superset secret key, Airflow's JWT secret);
- of low entropy: the smallest unit the value repeats, times the Shannon entropy of that unit's
  characters, is under 28 bits (32 identical characters give 0, `ab12` repeated 8, a password of
  8 characters typed twice 24; 100 000 random 16-character passwords from the hex digits gave at
  least 32). It is an estimate from the value alone, a floor against the obvious, not a measure.
A refusal names the variable and why, never the value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from urllib.parse import unquote, urlparse

from regbench.pseudonym import PseudonymKeyError, load_key

DEFAULTS = {"postgres", "password", "admin", "secret", "regbench", "airflow", "superset", "root",
            "changeme", "letmein", "default"}
PLACEHOLDER = re.compile(r"change[-_ ]?(me|it|this)|replace[-_ ]?(me|this)|placeholder|example|"
                         r"your[-_ ]|<[^>]*>|x{4,}|todo|fixme|password", re.IGNORECASE)
MIN_PASSWORD = 16
MIN_KEY = 32
MIN_BITS = 28

# component -> (connection strings whose password is a secret, other secrets with their minimum)
COMPONENTS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, int], ...]]] = {
    # the processes that run tasks: the scheduler (LocalExecutor) and the Celery workers
    "airflow": (("REGBENCH_POSTGRES_DSN", "REGBENCH_LOADER_DSN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                 "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"),
                (("REGBENCH_PSEUDONYM_KEY", MIN_KEY), ("AIRFLOW__API_AUTH__JWT_SECRET", MIN_KEY))),
    # api-server, dag-processor, triggerer: Airflow's own secrets only
    "airflow-core": (("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"),
                     (("AIRFLOW__API_AUTH__JWT_SECRET", MIN_KEY),)),
    # `regbench airflow-init --users`: the metadata database and the FAB users' passwords
    "airflow-init": (("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"),
                     (("REGBENCH_AIRFLOW_ADMIN_PASSWORD", MIN_PASSWORD),)),
    "superset": (("SUPERSET_METADATA_URI",),
                 (("SUPERSET_SECRET_KEY", MIN_KEY), ("REGBENCH_SUPERSET_ADMIN_PASSWORD", MIN_PASSWORD))),
    "provision": (("REGBENCH_SUPERSET_READER_DSN",), (("REGBENCH_SUPERSET_ADMIN_PASSWORD", MIN_PASSWORD),)),
    # `regbench warehouse-setup`: the administrator's DSN, its password there or in PGPASSWORD
    "setup": (("REGBENCH_ADMIN_DSN",), ()),
}


def entropy_bits(value: str) -> float:
    """Estimated entropy: the shortest unit `value` repeats, times its characters' Shannon entropy."""
    n = len(value)
    period = next(p for p in range(1, n + 1) if all(value[i] == value[i - p] for i in range(p, n)))
    unit = value[:period]
    counts = Counter(unit)
    return period * -sum(c / period * math.log2(c / period) for c in counts.values())


def secret_problem(value: str, min_length: int = MIN_PASSWORD) -> str | None:
    """Why `value` is not a usable secret, or None."""
    if not value:
        return "is not set"
    if value.strip().lower() in DEFAULTS or PLACEHOLDER.search(value):
        return "is a placeholder or a default"
    if len(value) < min_length:
        return f"is too short (at least {min_length} characters)"
    if entropy_bits(value) < MIN_BITS:
        return "has too little entropy (repeated or too few different characters)"
    return None


def _dsn_password(dsn: str) -> str:
    # urlparse rejects "_" in a scheme (postgresql+psycopg_async), so parse without it
    return unquote(urlparse("db://" + dsn.split("://", 1)[-1]).password or "")


def problems(component: str, env: Mapping[str, str]) -> list[str]:
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENTS)}")
    if env.get("REGBENCH_DEMO", "").strip().lower() in {"1", "true", "yes", "on"}:
        return []
    dsns, secrets = COMPONENTS[component]
    found = []
    hint = "; generate one with e.g. `openssl rand -base64 32` (see .env.example)"
    for name in dsns:
        dsn = env.get(name, "")
        if not dsn:
            found.append(f"{name} is not set")
            continue
        password = _dsn_password(dsn)
        where = f"{name}'s password"
        if not password and name == "REGBENCH_ADMIN_DSN":
            password, where = env.get("PGPASSWORD", ""), f"{name}'s password (PGPASSWORD)"
        why = secret_problem(password, MIN_PASSWORD)
        if why:
            found.append(f"{where} {why}{hint}")
    checks = list(secrets)
    if component == "provision":  # the users' passwords, named in the users file
        checks += [(name, MIN_PASSWORD) for name in sorted(env) if name.startswith("REGBENCH_PW_")]
    for name, minimum in checks:
        if name == "REGBENCH_PSEUDONYM_KEY":
            try:
                load_key(demo_mode=False, env=env)
            except PseudonymKeyError as exc:
                found.append(str(exc))
                continue
        why = secret_problem(env.get(name, ""), minimum)
        if why:
            found.append(f"{name} {why}{hint}")
    return found
