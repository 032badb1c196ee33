"""One registry's nightly ingest: extract → parse → pseudonymise → validate → load raw.

Every file ends loaded (in one transaction, replacing an earlier delivery of the same period) or in
quarantine with its reason; one file's problem never stops the others.
"""

from __future__ import annotations

import csv
import logging
import os
import traceback
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from regbench import inbox, raw_changes
from regbench.config import Settings
from regbench.contracts import Contract, load_contracts
from regbench.file_sniffing import compressed_name
from regbench.ledger import LOADED, QUARANTINED, RECEIVED, SUPERSEDED, Delivery, extract, pending
from regbench.optouts import apply_optout_list, remove_opted_out, report_unmatched
from regbench.parsing import FileRejected, ParsedFile, parse_file
from regbench.pseudonym import Pseudonymiser, load_key
from regbench.quarantine import QuarantineReason, quarantine_file, remove_from_quarantine
from regbench.sources import SourceError, fetch
from regbench.thresholds import Door, load_thresholds
from regbench.warehouse import Warehouse, raw_columns
from regbench.xlsx_reading import RECOMPUTE

log = logging.getLogger("regbench.ingest")
REJECT_COLUMNS = ["file_id", "registry_id", "entity", "row_number", "column_name", "rule"]
# what to do when most rejected rows broke one rule whose fix is not in the rows themselves
RULE_ACTIONS = {"formula_not_computed": RECOMPUTE}
# more than this share of a file's rows dated outside its period: it is taken for another period's
# export and waits in quarantine, whatever the contract's `outside_period` says (decision 0018)
MOSTLY_OUTSIDE_PCT = 50.0


@dataclass
class IngestReport:
    registry_id: str
    files_new: int = 0
    files_loaded: int = 0
    files_quarantined: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    files_downloaded: int = 0
    # persons on this run's opt-out lists who match no registration (a count, never who)
    optouts_unmatched: int = 0
    # the source could not be read: files already in the inbox are still processed, the run fails
    source_error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def today(settings: Settings | None = None) -> date:
    forced = os.environ.get("REGBENCH_TODAY")
    return date.fromisoformat(forced) if forced else date.today()


def known_units(settings: Settings, registry_id: str) -> set[str]:
    path = settings.dbt_project_dir / "seeds" / "units.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["unit_id"] for row in csv.DictReader(fh) if row["registry_id"] == registry_id}


def ingest_registry(settings: Settings, registry_id: str) -> IngestReport:
    contract = load_contracts(settings.contracts_dir)[registry_id]
    pseudonymiser = Pseudonymiser(load_key(demo_mode=settings.demo_mode))
    units = known_units(settings, registry_id)
    report = IngestReport(registry_id)
    now = datetime.now().replace(microsecond=0)
    with Warehouse(settings, loader=True) as wh:
        wh.ensure_ops()
        # every entity's table exists even before its first delivery, so dbt can always build
        for entity in contract.entities:
            if entity.role != "optouts":
                wh.ensure_raw_table(contract, entity)
        try:
            fetched = fetch(settings, contract)
            report.files_downloaded = len(fetched.downloaded)
        except SourceError as exc:
            report.source_error = str(exc)
            if getattr(exc, "report", None) is not None:
                report.files_downloaded = len(exc.report.downloaded)
            log.error("%s: %s", registry_id, exc)
        folders = {c.inbox_folder for c in load_contracts(settings.contracts_dir).values()}
        inbox.record(wh, None, inbox.strays(settings.inbox, folders), now)
        deliveries = extract(settings, wh, contract, now)
        report.files_new = len(deliveries)
        log.info("%s: %d file(s) to process", registry_id, len(deliveries))
        if not deliveries:
            return report
        from regbench.door_validation import DoorValidator  # GX costs seconds to import

        validator = DoorValidator(settings.gx_dir)
        door = load_thresholds(settings.thresholds_dir, registry_id).door
        # a correction can send files whose rows duplicated the superseded file back to `received`;
        # they are processed again in the same run (bounded: a reload never supersedes anything)
        for _ in range(3):
            for n, delivery in enumerate(deliveries, start=1):
                _process(settings, wh, contract, delivery, pseudonymiser, units, validator, door,
                         report, now)
                log.info(
                    "%s: %d/%d %s done (%d rows loaded, %d rejected so far)",
                    registry_id, n, len(deliveries), delivery.original_name,
                    report.rows_loaded, report.rows_rejected,
                )
            deliveries = pending(settings, wh, contract)
            if not deliveries:
                break
            log.info("%s: %d file(s) to load again after a correction", registry_id,
                     len(deliveries))
        if report.rows_loaded:
            for entity in contract.entities:
                if entity.role != "optouts":
                    wh.refresh_statistics(f"raw.{contract.raw_table(entity)}")
        docs = validator.build_data_docs()
        log.info("%s: Data Docs at %s", registry_id, docs)
    return report


def _process(settings, wh, contract, delivery: Delivery, pseudonymiser, units, validator,
             door: Door, report: IngestReport, now: datetime) -> None:
    try:
        if delivery.entity is None:
            compressed = compressed_name(delivery.original_name, contract)
            if compressed:
                raise FileRejected("compressed_file_name", compressed[0], action=compressed[1])
            raise FileRejected(
                "unknown_file_name",
                f"{delivery.original_name}: the file name matches none of the names the registry's "
                f"contract expects ({', '.join(n for e in contract.entities for n in e.file_names)})",
                action="Rename the file to the agreed pattern and deliver it again, or add the "
                "pattern to the registry's contract.",
            )
        entity = contract.entity(delivery.entity)
        _check_period(delivery, today(settings))
        parsed = parse_file(
            delivery.lake_path, contract, entity, pseudonymiser=pseudonymiser,
            known_units=units, today=today(settings), name=delivery.original_name,
        )
        outside = _outside_period(parsed, entity, delivery.period)
        if outside and entity.outside_period == "quarantine":
            raise FileRejected(
                "outside_file_period",
                f"{delivery.original_name}: {outside[0]} row(s) have a {entity.event_date_column} "
                f"outside {delivery.period}, the period the file name says it covers (first at "
                f"row {outside[1]})",
                row=outside[1], column=entity.event_date_column,
                action="Deliver each period's rows in the file named for it, or correct the dates.",
            )
        if outside and not delivery.accept_rejects:
            _check_mostly_outside(delivery, entity, parsed, outside)
        if entity.role == "optouts":
            _apply_optouts(wh, contract, entity, delivery, parsed, now, report)
            report.files_loaded += 1
            return
        results = validator.validate(
            parsed.frame, contract, entity, file_id=delivery.file_id,
            file_name=delivery.original_name, today=today(settings), door=door,
        )
        _record_checks(wh, contract.registry_id, entity.name, delivery.file_id, results, now)
        report.checks_passed += sum(r.success for r in results)
        report.checks_failed += sum(not r.success for r in results)
        if not delivery.accept_rejects:
            try:
                _check_file_quality(delivery, contract, parsed, results)
            except FileRejected:
                # every rejected row stays visible while the file waits, not only the first
                _record_rejects(wh, contract, entity, delivery, parsed)
                raise
        if not delivery.accept_rejects:
            _check_correction_size(wh, contract, entity, delivery, parsed, door)
        if outside:
            parsed.notes.append(f"{outside[0]} row(s) with {entity.event_date_column} outside "
                                f"{delivery.period} (first at row {outside[1]})")
            log.warning("%s: %s", delivery.original_name, parsed.notes[-1])
        loaded, rejected = _load(settings, wh, contract, entity, delivery, parsed, now)
        report.files_loaded += 1
        report.rows_loaded += loaded
        report.rows_rejected += rejected
    except FileRejected as exc:
        _quarantine(settings, wh, delivery, exc, now)
        report.files_quarantined += 1
        log.warning("%s quarantined: %s", delivery.original_name, exc.message)
    except Exception as exc:  # noqa: BLE001 - one file's failure must never block the others
        rejection = _as_rejection(delivery, exc)
        _quarantine(settings, wh, delivery, rejection, now)
        report.files_quarantined += 1
        log.error("%s quarantined: %s", delivery.original_name, rejection.message)


def _as_rejection(delivery: Delivery, exc: Exception) -> FileRejected:
    """An unforeseen failure, as a quarantine reason: what failed and where, never a data value
    (an exception's text can quote the file, so only its type and origin are kept)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" in {Path(frame.filename).name}:{frame.lineno} ({frame.name})" if frame else ""
    return FileRejected(
        "processing_failed",
        f"{delivery.original_name}: regbench failed while reading or loading this file "
        f"({type(exc).__name__}{where}); the file was not loaded and the others were not held up",
        action="Look at the file (encoding, format, size) and deliver a corrected export; if it "
        "looks right, report this reason to the platform team, then release the file.",
    )


def _check_period(delivery: Delivery, today_: date) -> None:
    """The period in a file's name must be a real date, and not after today."""
    period = delivery.period or ""
    fmt = {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}.get(len(period))
    try:
        start = datetime.strptime(period, fmt).date() if fmt else None
    except ValueError:
        start = None
    if start is None:
        raise FileRejected(
            "period_invalid",
            f"{delivery.original_name}: the period in the file name ({period}) is not a real "
            "year, month or day",
            action="Rename the file with the period its rows cover and deliver it again.")
    if start > today_:
        raise FileRejected(
            "period_in_future",
            f"{delivery.original_name}: the period in the file name ({period}) has not begun yet",
            action="Rename the file with the period its rows cover and deliver it again.")


def _record_rejects(wh: Warehouse, contract: Contract, entity, delivery: Delivery,
                    parsed: ParsedFile) -> None:
    rejects = _rejects_frame(contract, entity, delivery, parsed)
    with wh.transaction():
        wh.execute("DELETE FROM ops.rejects WHERE registry_id = ? AND file_id = ?",
                   [contract.registry_id, delivery.file_id])
        if len(rejects):
            wh.bulk_insert("ops.rejects", rejects)


def _rejects_frame(contract: Contract, entity, delivery: Delivery,
                   parsed: ParsedFile) -> pd.DataFrame:
    """The parser's row rejects of one file as rows of ops.rejects."""
    return pd.DataFrame(
        [(delivery.file_id, contract.registry_id, entity.name, r.row_number, r.column, r.rule)
         for r in parsed.rejects],
        columns=REJECT_COLUMNS)


def _outside_period(parsed: ParsedFile, entity, period: str | None) -> tuple[int, int] | None:
    """(rows, first row) of accepted rows whose event date is outside the file's period."""
    column = entity.event_date_column
    if not period or not column or entity.role == "optouts" or not len(parsed.accepted):
        return None
    try:
        start, end = _period_bounds(period)
    except ValueError:
        return None
    dates = parsed.accepted[column]
    outside = dates.notna() & ((dates < start) | (dates >= end))
    if not outside.any():
        return None
    return int(outside.sum()), int(outside[outside].index[0])


def _check_mostly_outside(delivery: Delivery, entity, parsed: ParsedFile,
                          outside: tuple[int, int]) -> None:
    """A file most of whose rows are dated outside the period its name says is most likely
    another period's export under this period's name (last month's file saved as this month's):
    loaded, it would replace this period's rows with a handful. It waits in quarantine whatever
    `outside_period` says (`warn` is for late registrations spilling over, not for the wrong file),
    and the file it would replace stays loaded."""
    count, first = outside
    total = max(parsed.rows_total, 1)
    if 100.0 * count / total <= MOSTLY_OUTSIDE_PCT:
        return
    column = entity.event_date_column
    dates = parsed.accepted[column]
    start, end = _period_bounds(delivery.period)
    months = dates[dates.notna() & ((dates < start) | (dates >= end))].dt.strftime("%Y-%m")
    ranked = months.value_counts()
    top = ", ".join(f"{m} ({n} rows)" for m, n in ranked.head(3).items())
    raise FileRejected(
        "mostly_outside_file_period",
        f"{delivery.original_name}: {count} of {parsed.rows_total} rows have a {column} outside "
        f"{delivery.period}; most rows are from {top}: is this the right file for "
        f"{delivery.period}? The file loaded for {delivery.period} stays as it is (first row "
        f"outside at row {first})",
        row=first, column=column,
        action=f"If this is the export of {ranked.index[0]}, deliver it under that period's name; "
        f"if it really is {delivery.period}'s, correct the dates, or load it anyway with "
        "`regbench quarantine release <sha256> --accept --note \"why\"`.",
    )


def _check_correction_size(wh: Warehouse, contract: Contract, entity, delivery: Delivery,
                           parsed: ParsedFile, door: Door) -> None:
    """A correction replaces every row its predecessor loaded. One that would remove more than
    the registry's `door.max_correction_removes_pct` of them (a truncated export, a test file)
    waits until a person accepts it; the predecessor stays loaded until then."""
    row = wh.fetchone(
        "SELECT count(*), coalesce(sum(rows_loaded), 0), max(original_name) FROM ops.ledger"
        " WHERE registry_id = ? AND entity = ? AND period = ? AND status = ? AND file_id <> ?",
        [contract.registry_id, entity.name, delivery.period, LOADED, delivery.file_id])
    if not row or not row[0] or not row[1]:
        return
    before, after = int(row[1]), len(parsed.accepted)
    removed = before - after
    limit = door.max_correction_removes_pct
    if removed <= 0 or 100.0 * removed / before <= limit:
        return
    raise FileRejected(
        "correction_removes_rows",
        f"{delivery.original_name}: this correction for {delivery.period} would remove {removed} "
        f"of the {before} rows loaded from {row[2]} ({100.0 * removed / before:.0f} %; it has "
        f"{after} row(s) that can be loaded), more than the {limit:g} % a correction may remove "
        f"(door.max_correction_removes_pct in expectations/{contract.registry_id}.yaml); "
        "the earlier file stays loaded",
        action="Ask the registry whether the export is complete. If the rows really are to go, "
        "load it with `regbench quarantine release <sha256> --accept --note \"why\"`; "
        "otherwise deliver the complete file.",
    )


def _period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(period if len(period) > 4 else f"{period}-01")
    end = start + (pd.DateOffset(years=1) if len(period) == 4 else pd.DateOffset(months=1)
                   if len(period) == 7 else pd.DateOffset(days=1))
    return start, end


def _check_file_quality(delivery: Delivery, contract: Contract, parsed: ParsedFile, results) -> None:
    share = 100.0 * len(parsed.rejected_rows) / max(parsed.rows_total, 1)
    if share > contract.reject_threshold_pct:
        by_rule: dict[tuple[str, str], list[int]] = {}
        for r in parsed.rejects:
            by_rule.setdefault((r.column, r.rule), []).append(r.row_number)
        (column, rule), rows = max(by_rule.items(), key=lambda kv: len(kv[1]))
        raise FileRejected(
            "too_many_rejected_rows",
            f"{delivery.original_name}: {len(parsed.rejected_rows)} of {parsed.rows_total} rows "
            f"({share:.1f} %) cannot be loaded, more than the {contract.reject_threshold_pct:g} % "
            f"the contract tolerates; most common: {rule} in column {column} "
            f"({len(rows)} rows, first at row {rows[0]})",
            row=rows[0], column=column,
            action=RULE_ACTIONS.get(rule, "Fix the rows named in reason.json's rule and deliver "
                                    "the file again."),
        )
    fatal = [r for r in results if not r.success and r.severity == "fatal"]
    if fatal:
        first = fatal[0]
        raise FileRejected(
            "quality_check_failed",
            f"{delivery.original_name}: {len(fatal)} fatal data-quality check(s) failed, first: "
            f"{first.check} on column {first.column} ({first.unexpected_count} of "
            f"{first.element_count} rows, {first.threshold_pct:g} % tolerated)",
            column=first.column,
            action="Correct the column named here and deliver the file again.",
        )


def _load(settings: Settings, wh: Warehouse, contract: Contract, entity, delivery: Delivery,
          parsed: ParsedFile, now: datetime) -> tuple[int, int]:
    """Replace earlier deliveries of the period with this file's rows; (rows loaded, rejected)."""
    table = wh.ensure_raw_table(contract, entity)
    accepted = parsed.accepted.copy()
    accepted["_file_id"] = delivery.file_id
    accepted["_row_number"] = accepted.index.astype("int32")
    accepted["_period"] = delivery.period
    accepted["_loaded_at"] = pd.Timestamp(now)
    accepted = accepted[[name for name, _ in raw_columns(entity)]]
    rejects = _rejects_frame(contract, entity, delivery, parsed)
    # an earlier delivery of the same period, loaded or waiting in quarantine, is replaced
    earlier = wh.fetchall(
        "SELECT file_id, status FROM ops.ledger WHERE registry_id = ? AND entity = ? AND period = ?"
        " AND status IN (?, ?) AND file_id <> ?",
        [contract.registry_id, entity.name, delivery.period, LOADED, QUARANTINED, delivery.file_id],
    )
    predecessors = [fid for fid, _ in earlier]
    with wh.transaction():
        for fid in [delivery.file_id, *predecessors]:
            raw_changes.record_rows(wh, table, entity, "_file_id = ?", [fid], now)
            wh.execute(f"DELETE FROM {table} WHERE _file_id = ?", [fid])
            wh.execute("DELETE FROM ops.rejects WHERE registry_id = ? AND file_id = ?",
                       [contract.registry_id, fid])
        if len(accepted):
            raw_changes.record_frame(wh, table, entity, accepted, now)
            wh.bulk_insert(table, accepted)
        removed = remove_opted_out(wh, contract.registry_id, table, entity, delivery.file_id, now,
                                   only_file=delivery.file_id)
        dupes = _reject_cross_file_duplicates(wh, contract, entity, table, delivery)
        rejects = pd.concat([rejects, dupes], ignore_index=True) if len(dupes) else rejects
        loaded = len(accepted) - removed - len(dupes)
        rejected = len(parsed.rejected_rows) + len(dupes)
        if len(dupes):
            # not counted against the reject threshold: they are no broken rows, and they load
            # here if the file holding them is corrected without them (decision 0018)
            parsed.notes.append(f"{len(dupes)} row(s) already loaded from another file "
                                "(duplicate_across_files, each in ops.rejects)")
        if len(rejects):
            wh.bulk_insert("ops.rejects", rejects)
        when = (f" (modified {delivery.delivered_at:%Y-%m-%d %H:%M:%S} in the drop folder)"
                if delivery.delivered_at else "")
        for fid, status in earlier:
            wh.execute(
                "UPDATE ops.ledger SET status = ?, superseded_by = ?, reason = ? WHERE"
                " registry_id = ? AND file_id = ? AND status = ?",
                [SUPERSEDED, delivery.file_id, f"superseded by {delivery.original_name}, "
                 f"delivered later for {delivery.period}{when}", contract.registry_id, fid, status],
            )
        if predecessors:
            _reconsider_duplicates(wh, contract, entity, delivery)
        wh.execute(
            "UPDATE ops.ledger SET status = ?, rows_loaded = ?, rows_rejected = ?, processed_at = ?,"
            " reason = ? WHERE registry_id = ? AND file_id = ? AND original_name = ?",
            [LOADED, loaded, rejected, now, _extra_note(parsed, delivery), contract.registry_id,
             delivery.file_id, delivery.original_name],
        )
    for fid, status in earlier:
        if status == QUARANTINED:
            remove_from_quarantine(settings, contract.registry_id, fid)
    # the same bytes delivered before under a name that was quarantined now loaded under this one
    if wh.fetchone("SELECT 1 FROM ops.ledger WHERE registry_id = ? AND file_id = ?"
                   " AND original_name <> ? AND status = ?",
                   [contract.registry_id, delivery.file_id, delivery.original_name, QUARANTINED]):
        remove_from_quarantine(settings, contract.registry_id, delivery.file_id)
    wh.execute(
        "UPDATE ops.ledger SET status = ?, superseded_by = ? WHERE registry_id = ? AND file_id = ?"
        " AND original_name <> ? AND status = ?",
        [SUPERSEDED, delivery.file_id, contract.registry_id, delivery.file_id,
         delivery.original_name, QUARANTINED])
    return loaded, rejected


def _reconsider_duplicates(wh: Warehouse, contract: Contract, entity, delivery: Delivery) -> None:
    """Rows another file could not load because a superseded file held the first copy must get
    their chance: such files go back to `received` and load again (their rows that the
    correction still holds stay rejected as duplicates)."""
    wh.execute(
        "UPDATE ops.ledger SET status = ?, reason = ? WHERE registry_id = ? AND entity = ?"
        " AND status = ? AND file_id <> ? AND file_id IN (SELECT file_id FROM ops.rejects"
        " WHERE registry_id = ? AND entity = ? AND rule = 'duplicate_across_files')",
        [RECEIVED, f"to load again: {delivery.original_name} replaced a file that held the first "
         "copy of some of its rows", contract.registry_id, entity.name, LOADED, delivery.file_id,
         contract.registry_id, entity.name],
    )


def _reject_cross_file_duplicates(wh: Warehouse, contract: Contract, entity, table: str,
                                  delivery: Delivery) -> pd.DataFrame:
    """Rows of this file that repeat a registration already loaded from another file are rejected."""
    if not entity.key_columns:
        return pd.DataFrame()
    keys = entity.raw_key_columns
    same = " AND ".join(f"o.{k} = {table}.{k}" for k in keys)
    where = (f"_file_id = ? AND EXISTS (SELECT 1 FROM {table} o WHERE o._file_id <> ? AND {same})")
    params = [delivery.file_id, delivery.file_id]
    rows = [r for (r,) in wh.fetchall(f"SELECT _row_number FROM {table} WHERE {where}", params)]
    if not rows:
        return pd.DataFrame()
    wh.execute(f"DELETE FROM {table} WHERE {where}", params)
    return pd.DataFrame(
        [(delivery.file_id, contract.registry_id, entity.name, r, entity.key_columns[0],
          "duplicate_across_files") for r in sorted(rows)],
        columns=REJECT_COLUMNS,
    )


def _apply_optouts(wh: Warehouse, contract: Contract, entity, delivery: Delivery,
                   parsed: ParsedFile, now: datetime, report: IngestReport) -> None:
    """Remove the listed persons. A row that is no personnummer is an opt-out that would be lost
    without a word: it is rejected by row in ops.rejects and named in the ledger; a list of which
    no row can be read waits in quarantine. Persons who match no registration are reported."""
    persons = parsed.accepted["person_id"]
    first = parsed.rejects[0] if parsed.rejects else None
    if first is not None and not persons.notna().any():
        _record_rejects(wh, contract, entity, delivery, parsed)
        raise FileRejected(
            "optout_unreadable",
            f"{delivery.original_name}: no row of the opt-out list can be read as a personnummer "
            f"({len(parsed.rejected_rows)} row(s), first at row {first.row_number}: "
            f"{first.rule}); nobody on it has been removed",
            row=first.row_number, column=first.column,
            action="Deliver the list again with one personnummer per line (12 digits, or 10 with "
            "- or +), with or without the header line.",
        )
    result = apply_optout_list(wh, contract, delivery.file_id, persons, now)
    report_unmatched(wh, contract, delivery.original_name, result, now)
    report.optouts_unmatched += result.unmatched
    note = _extra_note(parsed, delivery)
    notes = [note] if note else []
    if first is not None:
        notes.append(
            f"{len(parsed.rejected_rows)} row(s) cannot be read as a personnummer (first at row "
            f"{first.row_number}: {first.rule}; each in ops.rejects): those persons are not "
            "removed; ask the registry to deliver them again, corrected, on a new list")
        log.warning("%s: %s", delivery.original_name, notes[-1])
    if result.unmatched:
        notes.append(f"{result.unmatched} of {result.persons} person(s) on the list match no "
                     "registration in the warehouse")
    rejects = _rejects_frame(contract, entity, delivery, parsed)
    with wh.transaction():
        wh.execute("DELETE FROM ops.rejects WHERE registry_id = ? AND file_id = ?",
                   [contract.registry_id, delivery.file_id])
        if len(rejects):
            wh.bulk_insert("ops.rejects", rejects)
        wh.execute(
            "UPDATE ops.ledger SET status = ?, rows_loaded = ?, rows_rejected = ?, processed_at = ?,"
            " reason = ? WHERE registry_id = ? AND file_id = ? AND original_name = ?",
            [LOADED, int(persons.notna().sum()), len(parsed.rejected_rows), now,
             "; ".join(notes) or None, contract.registry_id, delivery.file_id,
             delivery.original_name],
        )


def _extra_note(parsed: ParsedFile, delivery: Delivery) -> str | None:
    notes = list(parsed.notes)
    if parsed.extra_columns:
        notes.append(f"extra columns ignored: {', '.join(parsed.extra_columns)}")
    if delivery.accept_rejects:
        notes.append("released from quarantine with --accept: file-level quality gates waived")
    return "; ".join(notes) or None


def _quarantine(settings: Settings, wh: Warehouse, delivery: Delivery, exc: FileRejected,
                now: datetime) -> None:
    reason = QuarantineReason(
        registry_id=delivery.registry_id, file_id=delivery.file_id,
        original_name=delivery.original_name, rule=exc.rule, message=exc.message, row=exc.row,
        column=exc.column, action=exc.action, quarantined_at=now.isoformat(),
    )
    folder = quarantine_file(settings, delivery.lake_path, reason)
    wh.execute(
        "UPDATE ops.ledger SET status = ?, reason = ?, processed_at = ? WHERE registry_id = ?"
        " AND file_id = ? AND original_name = ? AND status = ?",
        [QUARANTINED, f"{exc.rule}: {exc.message} (see {folder})", now, delivery.registry_id,
         delivery.file_id, delivery.original_name, RECEIVED],
    )


def _record_checks(wh: Warehouse, registry_id: str, entity: str, file_id: str, results,
                   now: datetime) -> None:
    if not results:
        return
    frame = pd.DataFrame(
        [
            {
                "checked_at": pd.Timestamp(now), "stage": "door", "registry_id": registry_id,
                "entity": entity, "file_id": file_id, "check_name": r.check,
                "column_name": r.column, "kahn_category": r.kahn_category,
                "severity": r.severity, "status": "passed" if r.success else "failed",
                "element_count": r.element_count, "unexpected_count": r.unexpected_count,
                "unexpected_percent": r.unexpected_percent, "threshold_pct": r.threshold_pct,
            }
            for r in results
        ]
    )
    frame["element_count"] = frame["element_count"].astype("Int64")
    frame["unexpected_count"] = frame["unexpected_count"].astype("Int64")
    with wh.transaction():
        wh.execute("DELETE FROM ops.dq_results WHERE stage = 'door' AND registry_id = ?"
                   " AND file_id = ?", [registry_id, file_id])
        wh.bulk_insert("ops.dq_results", frame)


