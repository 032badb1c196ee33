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

The switch and its record cannot disagree, whenever the process dies (docs/decisions/0020):
- PostgreSQL: the views are switched and ops.releases and ops.publish_log written in one
  transaction.
- DuckDB: the live file and ops.releases are two files, so the live file says which release it is
  (table release_meta.release, with its manifest) and is the truth; a release found live but not
  recorded, or recorded live but no longer in the file, is put right (`reconcile`) before anything
  reads ops.releases.
Releases written but never switched to are removed at the next publish. `regbench publish
status` verifies the live release against its manifest's fingerprints, and a publish refuses to
build on a live release that fails that check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd

from regbench.config import Settings, get_settings
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


META_SCHEMA = "release_meta"  # in a DuckDB release file: which release it is, and its manifest


class LiveReleaseBroken(RuntimeError):
    """The live release does not match its manifest: nothing may be built on it."""


def live_release(wh: Warehouse, settings: Settings | None = None) -> str | None:
    ensure_publish_tables(wh)
    if wh.kind == "duckdb":
        reconcile(settings or get_settings(), wh)
    row = wh.fetchone("SELECT release_id FROM ops.releases WHERE status = ?", [LIVE])
    return row[0] if row else None


def log_attempt(wh: Warehouse, outcome: str, detail: str | None, release_id: str | None = None) -> None:
    ensure_publish_tables(wh)
    wh.execute("INSERT INTO ops.publish_log VALUES (?, ?, ?, ?)",
               [datetime.now(), outcome, release_id, detail])


class _FileReader:
    """Enough of a Warehouse over one DuckDB file, opened read-only, for fingerprint()."""

    kind = "duckdb"

    def __init__(self, path: Path):
        import duckdb

        self.con = duckdb.connect(str(path), read_only=True)

    def fetchall(self, sql: str, params=None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def fetchone(self, sql: str, params=None) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        self.con.close()


def file_release(path: Path) -> tuple[str, dict] | None:
    """(release id, manifest) that a DuckDB release or live file says it holds; None when the file
    is missing or older than release_meta. Raises when the file cannot be read."""
    if not path.exists():
        return None
    reader = _FileReader(path)
    try:
        if not reader.fetchone("SELECT count(*) FROM information_schema.tables WHERE table_schema = ?"
                               " AND table_name = 'release'", [META_SCHEMA])[0]:
            return None
        rid, manifest = reader.fetchone(f"SELECT release_id, manifest FROM {META_SCHEMA}.release")
        return rid, json.loads(manifest)
    finally:
        reader.close()


def reconcile(settings: Settings, wh: Warehouse) -> None:
    """DuckDB: make ops.releases agree with the live file, which is the truth (a publish or a
    rollback may have ended between replacing the file and recording it)."""
    if wh.kind != "duckdb":
        return
    try:
        found = file_release(settings.published_path)
    except Exception:  # noqa: BLE001 - an unreadable live file is for verify() to report
        return
    if found is None:
        return
    rid, manifest = found
    rows = dict(wh.fetchall("SELECT release_id, status FROM ops.releases"))
    if rows.get(rid) == LIVE and list(rows.values()).count(LIVE) == 1:
        return
    with wh.transaction():
        for other, st in rows.items():
            if st == LIVE and other != rid:  # newer than the file: a rollback moved off it
                wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?",
                           [ROLLED_BACK if other > rid else PREVIOUS, other])
        if rid in rows:
            wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [LIVE, rid])
        else:
            _insert_release(wh, manifest)
            wh.execute("INSERT INTO ops.publish_log VALUES (?, ?, ?, ?)",
                       [datetime.now(), "published", rid, "recorded from the live file: the "
                        "publishing process ended after the switch, before recording it"])


def _insert_release(wh: Warehouse, manifest: dict) -> None:
    held = manifest.get("held") or {}
    wh.execute("INSERT INTO ops.releases VALUES (?, ?, ?, ?, ?)",
               [manifest["release_id"], pd.Timestamp(manifest["published_at"]), LIVE,
                json.dumps(held) if held else None, json.dumps(manifest)])


def _existing_releases(settings: Settings, wh: Warehouse) -> set[str]:
    """Every release that exists, recorded or not (files, or schemas)."""
    if wh.kind == "duckdb":
        folder = releases_dir(settings)
        return {p.name.split(".")[0] for p in folder.iterdir()} if folder.exists() else set()
    return {s[len("release_"):].upper() for (s,) in wh.fetchall(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'release\\_%'")}


def _new_release_id(settings: Settings, wh: Warehouse) -> str:
    base = datetime.now().strftime("%Y%m%dT%H%M%S")
    taken = {r for (r,) in wh.fetchall("SELECT release_id FROM ops.releases WHERE release_id LIKE ?",
                                       [base + "%"])}
    taken |= {r.upper() for r in _existing_releases(settings, wh)}
    rid, n = base, 1
    while rid.upper() in taken:
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
    live = live_release(wh, settings)
    if live is not None:
        problems = verify(settings, wh, live)
        if problems:
            detail = (f"the live release {live} does not match its manifest, so nothing is built on "
                      f"it: {'; '.join(problems)}. Roll back to a sound night with "
                      "`regbench publish rollback` (or `--to <release>`), then run again.")
            log_attempt(wh, "blocked", detail[:4000])
            raise LiveReleaseBroken(detail)
    rid = _new_release_id(settings, wh)
    published_at = datetime.now().replace(microsecond=0).isoformat()
    manifest = {"release_id": rid, "published_at": published_at, "warehouse": settings.warehouse,
                "held": held}
    if settings.warehouse == "duckdb":
        manifest["path"] = str(settings.published_path)
    fingerprints = _write_release(settings, wh, rid, tables, list(held), live, manifest)
    manifest["tables"] = {t: {"rows": rows, "sha256": digest}
                          for t, (digest, rows) in fingerprints.items()}
    _switch_and_record(settings, wh, manifest, live)
    _write_manifest_file(settings, manifest)
    _expire_old_releases(settings, wh)
    return manifest


def _write_release(settings, wh, rid, tables, held, live, manifest) -> dict[str, tuple[str, int]]:
    if settings.warehouse == "duckdb":
        return _write_duckdb_release(settings, wh, rid, tables, held, live, manifest)
    return _write_pg_release(wh, rid, tables, held, live)


def _switch_and_record(settings: Settings, wh: Warehouse, manifest: dict, live: str | None) -> None:
    """Readers move to the new release and ops.releases says so: in one transaction on PostgreSQL;
    on DuckDB the file is replaced first, and `reconcile` records it if the process dies here."""
    rid, tables = manifest["release_id"], list(manifest["tables"])
    if settings.warehouse == "duckdb":
        _switch_file(settings, rid)
        _record(wh, manifest, live)
        return
    with wh.transaction():
        _switch_pg_views(wh, rid, tables)
        _record(wh, manifest, live)


def _record(wh: Warehouse, manifest: dict, live: str | None) -> None:
    held = manifest["held"]
    detail = "held: " + "; ".join(f"{r}: {why}" for r, why in held.items()) if held else None
    with wh.transaction() if wh.kind == "duckdb" else _nullcontext():
        if live:
            wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [PREVIOUS, live])
        _insert_release(wh, manifest)
        wh.execute("INSERT INTO ops.publish_log VALUES (?, ?, ?, ?)",
                   [datetime.now(), "published", manifest["release_id"], detail])


def _nullcontext():
    from contextlib import nullcontext

    return nullcontext()


def _write_duckdb_release(settings, wh, rid, tables, held, live, manifest) -> dict[str, tuple[str, int]]:
    target = release_file(settings, rid)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob("*.part"):  # a publish that died while writing
        stale.unlink()
    tmp = target.with_suffix(".part")
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
        # the file says which release it is: the live copy of it is the truth about what is live
        sealed = {**manifest, "tables": {t: {"rows": rows, "sha256": digest}
                                         for t, (digest, rows) in fingerprints.items()}}
        wh.execute(f"CREATE SCHEMA pub_next.{META_SCHEMA}")
        wh.execute(f"CREATE TABLE pub_next.{META_SCHEMA}.release AS SELECT ? AS release_id,"
                   " ? AS manifest", [rid, json.dumps(sealed)])
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


def _switch_file(settings: Settings, rid: str) -> None:
    """DuckDB: replace the live file with a copy of release `rid`, atomically (one rename)."""
    final = settings.published_path
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.stem + ".next.duckdb")
    shutil.copyfile(release_file(settings, rid), tmp)
    os.replace(tmp, final)


def _write_manifest_file(settings: Settings, manifest: dict) -> None:
    """The manifest of the live release beside the live file, for people and the run summary."""
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
        _drop_release(settings, wh, rid)
        wh.execute("DELETE FROM ops.releases WHERE release_id = ?", [rid])
    # releases a publish wrote but died before switching to: never recorded, never live
    recorded = {r.upper() for r, _ in rows}
    newest = max(recorded, default="")
    for rid in _existing_releases(settings, wh):
        if rid.upper() not in recorded and rid.upper() < newest:
            _drop_release(settings, wh, rid)


def _drop_release(settings: Settings, wh: Warehouse, rid: str) -> None:
    if settings.warehouse == "duckdb":
        release_file(settings, rid).unlink(missing_ok=True)
    else:
        wh.execute(f'DROP SCHEMA IF EXISTS "release_{rid.lower()}" CASCADE')


def verify(settings: Settings, wh: Warehouse, release_id: str, *, live: bool = True) -> list[str]:
    """What does not match between a release and the manifest recorded for it (row counts and
    fingerprints of every table; on DuckDB also the id the file holds). `live`: the release as
    readers see it (the live file; the views of `published`), else its kept copy."""
    row = wh.fetchone("SELECT manifest FROM ops.releases WHERE release_id = ?", [release_id])
    if row is None:
        return [f"release {release_id} is not recorded in ops.releases"]
    expected = json.loads(row[0])["tables"]
    problems: list[str] = []
    if settings.warehouse == "duckdb":
        path = settings.published_path if live else release_file(settings, release_id)
        try:
            reader = _FileReader(path)
        except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
            return [f"{path.name} cannot be read: {str(exc).splitlines()[0][:300]}"]
        try:
            found = file_release(path)
            if found is not None and found[0] != release_id:
                problems.append(f"{path.name} holds release {found[0]}, not {release_id}")
            problems += _compare(reader, "publication", expected)
        except Exception as exc:  # noqa: BLE001 - a file cut short fails part-way through
            problems.append(f"{path.name} cannot be read: {str(exc).splitlines()[0][:300]}")
        finally:
            reader.close()
        return problems
    schema = f"release_{release_id.lower()}"
    if live:
        views = dict(wh.fetchall("SELECT viewname, definition FROM pg_views WHERE schemaname = ?",
                                 [LIVE_SCHEMA_PG]))
        for t in expected:
            if f"{schema}.{t}" not in (views.get(t) or ""):
                problems.append(f"{LIVE_SCHEMA_PG}.{t} does not read {schema}.{t}")
    if not wh.fetchone("SELECT count(*) FROM pg_namespace WHERE nspname = ?", [schema])[0]:
        return problems + [f"schema {schema} is missing"]
    return problems + _compare(wh, schema, expected)


def _compare(reader, schema: str, expected: dict) -> list[str]:
    problems = []
    present = {t for (t,) in reader.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema])}
    for table, want in sorted(expected.items()):
        if table not in present:
            problems.append(f"{schema}.{table} is missing")
            continue
        digest, rows = fingerprint(reader, f"{schema}.{table}", _columns(reader, table, schema))
        if rows != want["rows"]:
            problems.append(f"{table}: {rows} rows, its manifest says {want['rows']}")
        elif digest != want["sha256"]:
            problems.append(f"{table}: its rows differ from the fingerprint in its manifest")
    return problems


class RollbackError(RuntimeError):
    pass


def rollback(settings: Settings, wh: Warehouse, to: str | None = None) -> dict:
    """Make the release before the live one (or `to`) live again; the live one is marked rolled back."""
    live = live_release(wh, settings)
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
    broken = verify(settings, wh, target, live=False)
    if broken:
        raise RollbackError(f"release {target} does not match its manifest ({'; '.join(broken)}); "
                            "choose another with --to")
    manifest = json.loads(wh.fetchone("SELECT manifest FROM ops.releases WHERE release_id = ?",
                                      [target])[0])
    if settings.warehouse == "duckdb":
        _switch_file(settings, target)
        _record_rollback(wh, live, target)
    else:
        with wh.transaction():
            _switch_pg_views(wh, target, list(manifest["tables"]))
            _record_rollback(wh, live, target)
    _write_manifest_file(settings, manifest)
    return manifest


def _record_rollback(wh: Warehouse, live: str, target: str) -> None:
    with wh.transaction() if wh.kind == "duckdb" else _nullcontext():
        wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [ROLLED_BACK, live])
        wh.execute("UPDATE ops.releases SET status = ? WHERE release_id = ?", [LIVE, target])
        wh.execute("INSERT INTO ops.publish_log VALUES (?, ?, ?, ?)",
                   [datetime.now(), "rolled_back", target, f"{live} rolled back; {target} is live again"])


def status(wh: Warehouse, settings: Settings | None = None, *, verify: bool = False) -> dict:
    """Which release is live (on DuckDB: the one the live file holds), the kept ones, the last
    attempt; with `verify`, whether the live release still matches its manifest."""
    settings = settings or get_settings()
    ensure_publish_tables(wh)
    reconcile(settings, wh)
    releases = [
        {"release_id": r, "published_at": str(at), "status": st, "held": json.loads(h) if h else {}}
        for r, at, st, h in wh.fetchall(
            "SELECT release_id, published_at, status, held FROM ops.releases ORDER BY release_id DESC")
    ]
    last = wh.fetchone("SELECT attempted_at, outcome, release_id, detail FROM ops.publish_log"
                       " ORDER BY attempted_at DESC LIMIT 1")
    live = next((r for r in releases if r["status"] == LIVE), None)
    result = {
        "live": live,
        "releases": releases,
        "last_attempt": None if last is None else {
            "at": str(last[0]), "outcome": last[1], "release_id": last[2], "detail": last[3]},
    }
    if verify:
        problems = _verify(settings, wh, live["release_id"]) if live else []
        result["verified"] = {"ok": not problems, "problems": problems}
    return result


_verify = verify  # `status` has a parameter of that name


def read_manifest(settings: Settings) -> dict | None:
    path = manifest_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
