"""The short summary `make run` ends with: what came in, what was loaded, checked, built and where."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Console
from rich.table import Table

from regbench.config import Settings
from regbench.optouts import UNMATCHED
from regbench.publish import read_manifest
from regbench.warehouse import Warehouse


@dataclass
class RunSummary:
    files_in: int
    files_loaded: int
    files_quarantined: int
    files_duplicate: int
    rows_loaded: int
    rows_rejected: int
    checks_passed: int
    checks_failed: int
    indicators: int
    published_rows: int
    # failed warehouse checks of this run: (registry, unit, check, column, observed, threshold)
    quality_failures: list[tuple] = field(default_factory=list)
    # published cells of the indicator values, and how many the disclosure layer hides (primary)
    cells: int = 0
    hidden: int = 0
    hidden_primary: int = 0
    # what the drop folders held and this run did not take in: (folder, name, kind, message)
    inbox_notices: list[tuple] = field(default_factory=list)
    # opt-out lists of this run with persons who match no registration: (folder, name, message)
    optout_notices: list[tuple] = field(default_factory=list)
    # opt-out lists applied in this run, and the persons they opted out (new ones)
    optout_lists: int = 0
    optout_persons: int = 0


def collect(settings: Settings, since: datetime) -> RunSummary:
    with Warehouse(settings, read_only=settings.warehouse == "duckdb") as wh:
        wh_has_ledger = wh.table_exists("ops", "ledger")
        if wh_has_ledger:
            files = wh.fetchone(
                "SELECT count(*),"
                " coalesce(sum(CASE WHEN status IN ('loaded', 'superseded') THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN status = 'quarantined' THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN status = 'duplicate' THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0)"
                " FROM ops.ledger WHERE received_at >= ?",
                [since],
            )
            checks = wh.fetchone(
                "SELECT coalesce(sum(CASE WHEN status = 'passed' THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0)"
                " FROM ops.dq_results WHERE checked_at >= ?",
                [since],
            )
        else:
            files, checks = (0, 0, 0, 0, 0, 0), (0, 0)
        failures = []
        if wh_has_ledger:
            has_unit = wh.fetchone(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'ops'"
                " AND table_name = 'dq_results' AND column_name = 'unit_id'")[0]
            if has_unit:
                failures = wh.fetchall(
                    "SELECT registry_id, unit_id, check_name, column_name, observed_value,"
                    " threshold_value FROM ops.dq_results WHERE stage = 'warehouse'"
                    " AND status = 'failed' AND checked_at >= ? ORDER BY 1, 2, 3, 4", [since])
        notices = not_taken_in(wh, since)
        optout_notices = []
        if wh.table_exists("ops", "inbox_notices"):
            optout_notices = wh.fetchall(
                "SELECT location, name, message FROM ops.inbox_notices WHERE last_seen >= ?"
                " AND kind = ? ORDER BY location, name", [since, UNMATCHED])
        optouts = (0, 0)
        if wh.table_exists("ops", "optouts"):
            optouts = wh.fetchone("SELECT count(DISTINCT file_id), count(*) FROM ops.optouts"
                                  " WHERE received_at >= ?", [since])
        indicators = published = 0
        if wh.table_exists("publication", "pub_indicator_monthly"):
            indicators, published = wh.fetchone(
                "SELECT count(DISTINCT indicator_id), count(*) FROM publication.pub_indicator_monthly"
            )
        cells = (0, 0, 0)
        if wh.table_exists("marts", "disclosure_cells"):
            cells = wh.fetchone(
                "SELECT count(*), coalesce(sum(CASE WHEN num_hidden THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN reason = 'primary' THEN 1 ELSE 0 END), 0)"
                " FROM marts.disclosure_cells WHERE position('__' IN indicator_id) = 0")
    return RunSummary(*[int(x) for x in files], *[int(x) for x in checks], int(indicators),
                      int(published), [tuple(f) for f in failures], *[int(x) for x in cells],
                      [tuple(n) for n in notices], [tuple(n) for n in optout_notices],
                      *[int(x) for x in optouts])


def not_taken_in(wh: Warehouse, since: datetime) -> list[tuple]:
    """What the drop folders held and a run since `since` did not take in: uploads in progress,
    files still being written, links, strays: (folder, name, kind, message)."""
    if not wh.table_exists("ops", "inbox_notices"):
        return []
    return [tuple(n) for n in wh.fetchall(
        "SELECT location, name, kind, message FROM ops.inbox_notices WHERE last_seen >= ?"
        " AND kind <> ? ORDER BY kind, location, name", [since, UNMATCHED])]


def print_not_taken_in(console: Console, settings: Settings, since: datetime) -> None:
    """`regbench ingest` ends with the same list as the night's summary."""
    with Warehouse(settings, read_only=settings.warehouse == "duckdb") as wh:
        notices = not_taken_in(wh, since)
    if notices:
        render_not_taken_in(console, notices)


def render_not_taken_in(console: Console, notices: list[tuple]) -> None:
    waiting = Table("folder", "entry", "state", "why", title="inbox entries not taken in",
                    title_justify="left")
    for location, name, kind, message in notices:
        waiting.add_row(location or "(inbox root)", name, kind, message)
    console.print(waiting)


def render(console: Console, settings: Settings, s: RunSummary, seconds: float, ok: bool) -> None:
    table = Table(title="regbench nightly run", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("result", "[green]succeeded[/]" if ok else "[red]failed (see logs)[/]")
    table.add_row("files taken in", f"{s.files_in} ({s.files_loaded} loaded, "
                  f"{s.files_quarantined} quarantined, {s.files_duplicate} duplicate)")
    if s.inbox_notices:
        table.add_row("not taken in", f"{len(s.inbox_notices)} inbox entr"
                      f"{'y' if len(s.inbox_notices) == 1 else 'ies'} (listed below; "
                      "ops.inbox_notices)")
    if s.optout_lists or s.optout_notices:
        unmatched = sum(_count(m) for _, _, m in s.optout_notices)
        table.add_row("opt-outs", f"{s.optout_persons} person(s) opted out by {s.optout_lists} "
                      f"list(s)" + (f"; {unmatched} match no registration (listed below; "
                                    "ops.inbox_notices)" if unmatched else ""))
    table.add_row("rows loaded", f"{s.rows_loaded:,}")
    table.add_row("rows rejected", f"{s.rows_rejected:,}")
    table.add_row("checks", f"{s.checks_passed} passed, {s.checks_failed} failed")
    table.add_row("indicators built", f"{s.indicators} ({s.published_rows:,} published rows)")
    if s.cells:
        table.add_row("disclosure", f"{s.hidden:,} of {s.cells:,} indicator values hidden "
                      f"({s.hidden_primary:,} small, {s.hidden - s.hidden_primary:,} as partners; "
                      "per indicator in publication.pub_suppression)")
    table.add_row("data quality", f"{len(s.quality_failures)} unit check(s) failed"
                  + (" (listed below; results in ops.dq_results)" if s.quality_failures else ""))
    table.add_row("took", f"{seconds:.0f} s")
    table.add_row("warehouse", str(settings.duckdb_path if settings.warehouse == "duckdb"
                                   else settings.postgres_dsn.rsplit("@", 1)[-1]))
    manifest = read_manifest(settings)
    if manifest and manifest.get("path"):
        table.add_row("published", manifest["path"])
    table.add_row("Data Docs", str(settings.data_docs / "index.html"))
    table.add_row("logs", str(settings.logs))
    table.add_row("quarantine", str(settings.quarantine))
    console.print(table)
    if s.inbox_notices:
        render_not_taken_in(console, s.inbox_notices)
    if s.optout_notices:
        unmatched = Table("folder", "opt-out list", "what to check",
                          title="opt-outs that match no registration", title_justify="left")
        for location, name, message in s.optout_notices:
            unmatched.add_row(location, name, message)
        console.print(unmatched)
    if s.quality_failures:
        dq = Table("registry", "unit", "check", "observed", "threshold",
                   title="data-quality findings", title_justify="left")
        for registry, unit, check, column, observed, threshold in s.quality_failures:
            name = f"{check} ({column})" if column else check
            dq.add_row(registry, unit, name, f"{observed:g}" if observed is not None else "-",
                       f"{threshold:g}")
        console.print(dq)


def _count(message: str) -> int:
    """The leading count of an opt-out notice ("3 of 10 person(s) ...")."""
    head = message.split(" ", 1)[0]
    return int(head) if head.isdigit() else 0
