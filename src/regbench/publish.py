"""Publish: make the audited publication layer visible to readers all at once, keep the nights
before it, and roll back to one of them with one command (write-audit-publish).

dbt writes the `publication` schema of the warehouse; nobody reads it there. Publishing copies it
into a *release* and switches readers to that release atomically:

- DuckDB: a release is a file `var/published/releases/<id>.duckdb` (schema `publication`); the live
  file `var/published/regbench_pub.duckdb`, which Superset opens read-only, is replaced by a copy
  of it with one `rename`.
- PostgreSQL: a release is a schema `release_<id>`; readers read the views of schema `published`,
  recreated in one transaction to select from the new release. Views bind to tables by object id,
  not by name (STACK.md), so renaming schemas under existing views would leave readers on the old
  night; recreating the views is what moves them.

A registry whose audit failed fatally is *held*: its rows in the new release are copied from the
live release, so one registry's bad night never stops the others'. ops.releases records every
release and ops.publish_log every attempt, so `regbench publish status` can say which night is
live and why the last attempt was or wasn't published.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd

from regbench.config import Settings
from regbench.warehouse import Warehouse

LIVE_SCHEMA_PG = "published"
LIVE, PREVIOUS, ROLLED_BACK = "live", "previous", "rolled_back"
# relations that describe tonight's operations themselves are never held back
NEVER_HELD_PREFIX = "pub_ops_"



def keep_releases() -> int:
    return max(2, int(os.environ.get("REGBENCH_KEEP_RELEASES", "7")))


def ensure_publish_tables(wh: Warehouse) -> None:
    wh.ensure_ops()


def publication_tables(wh: Warehouse, schema: str = "publication") -> list[str]:
    return [
        t for (t,) in wh.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
            " ORDER BY table_name", [schema],
        )
    ]


FLOAT_TYPES = {"double", "double precision", "float", "float4", "float8", "real"}


def fingerprint(wh: Warehouse, relation: str, columns: list[tuple[str, str]]) -> tuple[str, int]:
    """A digest of a table's rows that ignores their order, and its row count, computed in the
    warehouse: fetching 2.6 M published rows into Python to hash them took most of a 50 s publish
    at 30 years of history. Only compared within one warehouse, so the two dialects may differ."""
    # Parallel aggregation sums floats in a different order on each build, so the last bits
    # move; nine decimals is far beyond what any published figure means.
    pg = wh.kind == "postgres"
    parts = []
    for name, data_type in columns:
        col = f'"{name}"'
        if data_type.lower() in FLOAT_TYPES:
            col = f"round(cast({col} as numeric), 9)" if pg else f"round({col}, 9)"
        parts.append(f"coalesce(cast({col} as varchar), '∅')")
    row = " || '|' || ".join(parts)
    digest = (f"sum(cast(('x' || substr(md5({row}), 1, 16)) as bit(64))::bigint)" if pg
              else f"sum(md5_number_lower({row}))")
    total, count = wh.fetchone(f"SELECT {digest}, count(*) FROM {relation}")
    return hashlib.sha256(f"{count}:{total or 0}".encode()).hexdigest(), int(count)


def _columns(wh: Warehouse, table: str, schema: str = "publication") -> list[tuple[str, str]]:
    """The published columns: a leading underscore marks bookkeeping (`_built_at`), not data."""
    seen: dict[str, str] = {}
    for name, data_type in wh.fetchall(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table],
    ):
        if not name.startswith("_"):
            seen.setdefault(name, data_type)  # DuckDB lists an attached release's copy too
    return list(seen.items())


def manifest_path(settings: Settings) -> Path:
    return settings.published_path.with_suffix(".manifest.json")


def releases_dir(settings: Settings) -> Path:
    return settings.published_path.parent / "releases"


def release_file(settings: Settings, release_id: str) -> Path:
    return releases_dir(settings) / f"{release_id}.duckdb"


def live_release(wh: Warehouse) -> str | None:
    ensure_publish_tables(wh)
    row = wh.fetchone("SELECT release_id FROM ops.releases WHERE status = ?", [LIVE])
    return row[0] if row else None


def log_attempt(wh: Warehouse, outcome: str, detail: str | None, release_id: str | None = None) -> None:
    ensure_publish_tables(wh)
    wh.execute("INSERT INTO ops.publish_log VALUES (?, ?, ?, ?)",
               [datetime.now(), outcome, release_id, detail])


def _new_release_id(wh: Warehouse) -> str:
    base = datetime.now().strftime("%Y%m%dT%H%M%S")
    taken = {r for (r,) in wh.fetchall("SELECT release_id FROM ops.releases WHERE release_id LIKE ?",
                                       [base + "%"])}
    rid, n = base, 1
    while rid in taken:
        rid, n = f"{base}_{n:03d}", n + 1
    return rid


def _select_for_release(table: str, columns: list[tuple[str, str]], held: list[str],
                        live_ref: str | None) -> str:
    """The rows of `table` for the new release: new rows, but held registries' rows from live."""
    select = "SELECT " + ", ".join(f'"{name}"' for name, _ in columns)
    if not held or table.startswith(NEVER_HELD_PREFIX) or "registry_id" not in dict(columns):
        return f"{select} FROM publication.{table}"
    in_list = ", ".join("'" + r.replace("'", "''") + "'" for r in held)
    fresh = f"{select} FROM publication.{table} WHERE registry_id NOT IN ({in_list})"
    if live_ref is None:
        return fresh
    return f"{fresh} UNION ALL {select} FROM {live_ref}.{table} WHERE registry_id IN ({in_list})"


def publish(settings: Settings, wh: Warehouse, held: dict[str, str] | None = None) -> dict:
    """Publish the warehouse's publication schema as a new live release; `held` maps a registry
    to the reason its rows stay as they are in the live release."""
    tables = publication_tables(wh)
    if not tables:
        raise RuntimeError("nothing to publish: the publication schema has no tables; run dbt first")
    ensure_publish_tables(wh)
    held = dict(sorted((held or {}).items()))
    live = live_release(wh)
    rid = _new_release_id(wh)
    if settings.warehouse == "duckdb":
        fingerprints = _write_duckdb_release(settings, wh, rid, tables, list(held), live)
    else:
        fingerprints = _write_pg_release(wh, rid, tables, list(held), live)
    manifest = {
        "release_id": rid,
        "published_at": datetime.now().replace(microsecond=0).isoformat(),
        "warehouse": settings.warehouse,
        "held": held,
        "tables": {t: {"rows": rows, "sha256": digest} for t, (digest, rows) in fingerprints.items()},
    }
    if settings.warehouse == "duckdb":
        manifest["path"] = str(settings.published_path)
    _switch(settings, wh, rid, tables, manifest)
    with wh.transaction():
        if live:
            wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [PREVIOUS, live])
        wh.execute("INSERT INTO ops.releases VALUES (?, ?, ?, ?, ?)",
                   [rid, pd.Timestamp(manifest["published_at"]), LIVE, json.dumps(held) if held else None,
                    json.dumps(manifest)])
    detail = "held: " + "; ".join(f"{r}: {why}" for r, why in held.items()) if held else None
    log_attempt(wh, "published", detail, rid)
    _expire_old_releases(settings, wh)
    return manifest


def _write_duckdb_release(settings, wh, rid, tables, held, live) -> dict[str, tuple[str, int]]:
    target = release_file(settings, rid)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    live_ref = None
    if held and live and release_file(settings, live).exists():
        wh.execute(f"ATTACH '{release_file(settings, live)}' AS pub_live (READ_ONLY)")
        live_ref = "pub_live.publication"
    wh.execute(f"ATTACH '{tmp}' AS pub_next")
    fingerprints = {}
    try:
        wh.execute("CREATE SCHEMA pub_next.publication")
        for t in tables:
            columns = _columns(wh, t)
            wh.execute(f"CREATE TABLE pub_next.publication.{t} AS "
                       + _select_for_release(t, columns, held, live_ref))
            fingerprints[t] = fingerprint(wh, f"pub_next.publication.{t}", columns)
    finally:
        wh.execute("DETACH pub_next")
        if live_ref:
            wh.execute("DETACH pub_live")
    os.replace(tmp, target)
    return fingerprints


def _write_pg_release(wh, rid, tables, held, live) -> dict[str, tuple[str, int]]:
    schema = f"release_{rid.lower()}"
    live_ref = f"release_{live.lower()}" if live else None
    fingerprints = {}
    with wh.transaction():
        wh.execute(f"CREATE SCHEMA {schema}")
        for t in tables:
            columns = _columns(wh, t)
            wh.execute(f"CREATE TABLE {schema}.{t} AS " + _select_for_release(t, columns, held, live_ref))
            fingerprints[t] = fingerprint(wh, f"{schema}.{t}", columns)
        owner = _published_owner(wh)
        if owner:  # the owner's views in `published` read the release
            wh.execute(f'GRANT USAGE ON SCHEMA {schema} TO "{owner}"')
            wh.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO "{owner}"')
    return fingerprints


def _published_owner(wh: Warehouse) -> str | None:
    """The NOLOGIN owner of `published` when infra/postgres/init-regbench.sh made the roles (then
    only its function ops.switch_published may change the views); None on a database without
    them (a single-role development database)."""
    row = wh.fetchone("SELECT pg_get_userbyid(n.nspowner) FROM pg_namespace n"
                      " WHERE n.nspname = ? AND to_regprocedure('ops.switch_published(text, text[])')"
                      " IS NOT NULL", [LIVE_SCHEMA_PG])
    return row[0] if row else None


def _switch(settings: Settings, wh: Warehouse, rid: str, tables: list[str], manifest: dict) -> None:
    """Make release `rid` the one readers see, atomically; then write the manifest beside it."""
    if settings.warehouse == "duckdb":
        final = settings.published_path
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.stem + ".next.duckdb")
        shutil.copyfile(release_file(settings, rid), tmp)
        os.replace(tmp, final)
    else:
        with wh.transaction():
            _switch_pg_views(wh, rid, tables)
    target = manifest_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_manifest = target.with_suffix(".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_manifest, target)


def _switch_pg_views(wh: Warehouse, rid: str, tables: list[str]) -> None:
    """Point the views of `published` at release `rid`, inside the caller's transaction. Where the
    roles of infra/postgres exist only the owner's function may (the transformer owns nothing in
    `published`); on a single-role development database the views are recreated directly."""
    if _published_owner(wh):
        wh.execute("SELECT ops.switch_published(?, ?)", [rid, list(tables)])
        return
    schema = f"release_{rid.lower()}"
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {LIVE_SCHEMA_PG}")
    for (v,) in wh.fetchall("SELECT table_name FROM information_schema.views"
                            " WHERE table_schema = ?", [LIVE_SCHEMA_PG]):
        wh.execute(f"DROP VIEW {LIVE_SCHEMA_PG}.{v}")
    for t in tables:
        wh.execute(f"CREATE VIEW {LIVE_SCHEMA_PG}.{t} AS SELECT * FROM {schema}.{t}")


def _expire_old_releases(settings: Settings, wh: Warehouse) -> None:
    rows = wh.fetchall("SELECT release_id, status FROM ops.releases ORDER BY release_id DESC")
    for rid, status in rows[keep_releases():]:
        if status == LIVE:
            continue
        if settings.warehouse == "duckdb":
            release_file(settings, rid).unlink(missing_ok=True)
        else:
            wh.execute(f"DROP SCHEMA IF EXISTS release_{rid.lower()} CASCADE")
        wh.execute("DELETE FROM ops.releases WHERE release_id = ?", [rid])


class RollbackError(RuntimeError):
    pass


def rollback(settings: Settings, wh: Warehouse, to: str | None = None) -> dict:
    """Make the release before the live one (or `to`) live again; the live one is marked rolled back."""
    live = live_release(wh)
    if live is None:
        raise RollbackError("nothing is published yet, so there is nothing to roll back")
    candidates = [r for (r,) in wh.fetchall(
        "SELECT release_id FROM ops.releases WHERE status = ? AND release_id < ?"
        " ORDER BY release_id DESC", [PREVIOUS, live])]
    if to is not None:
        known = {r for (r,) in wh.fetchall("SELECT release_id FROM ops.releases WHERE status <> ?", [LIVE])}
        if to not in known:
            raise RollbackError(f"release {to!r} is not kept; `regbench publish status` lists those "
                                "that are")
        target = to
    elif candidates:
        target = candidates[0]
    else:
        raise RollbackError(f"release {live} is the only one kept; there is no earlier night to "
                            "roll back to")
    manifest = json.loads(wh.fetchone("SELECT manifest FROM ops.releases WHERE release_id = ?",
                                      [target])[0])
    _switch(settings, wh, target, list(manifest["tables"]), manifest)
    with wh.transaction():
        wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [ROLLED_BACK, live])
        wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [LIVE, target])
    log_attempt(wh, "rolled_back", f"{live} rolled back; {target} is live again", target)
    return manifest


def status(wh: Warehouse) -> dict:
    ensure_publish_tables(wh)
    releases = [
        {"release_id": r, "published_at": str(at), "status": st, "held": json.loads(h) if h else {}}
        for r, at, st, h in wh.fetchall(
            "SELECT release_id, published_at, status, held FROM ops.releases ORDER BY release_id DESC")
    ]
    last = wh.fetchone("SELECT attempted_at, outcome, release_id, detail FROM ops.publish_log"
                       " ORDER BY attempted_at DESC LIMIT 1")
    return {
        "live": next((r for r in releases if r["status"] == LIVE), None),
        "releases": releases,
        "last_attempt": None if last is None else {
            "at": str(last[0]), "outcome": last[1], "release_id": last[2], "detail": last[3]},
    }


def read_manifest(settings: Settings) -> dict | None:
    path = manifest_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
