"""Turn one delivered export file into typed rows, as its registry's contract describes it.

Tolerant where the data are unambiguous (encoding detection, header case and aliases, whitespace,
missing-value markers, the common date forms), strict where they are not: a row that can't be read
is rejected with its row number, column and rule (never its value); a file that can't be read at all
raises FileRejected, which sends it to quarantine.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import traceback
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from regbench.contracts import Column, ColumnType, Contract, Entity
from regbench.file_sniffing import OTHER_SINGLE_BYTE, compression_of, decode_text, uncompress
from regbench.parse_errors import FileRejected
from regbench.personnummer import InvalidPersonnummer, Pnr, parse_pnr, valid_plain_twelve_digit
from regbench.pseudonym import Pseudonymiser
from regbench.redaction import redact
from regbench.xlsx_reading import RECOMPUTE, read_workbook

log = logging.getLogger(__name__)

# Spreadsheet view: the header is row 1, so the first data row is row 2.
FIRST_DATA_ROW = 2
# date-times are read as their day; the first two are the date-only forms (registry_scaffold)
FALLBACK_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                         "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f",
                         "%Y-%m-%dT%H:%M:%S.%f")
TRUE_WORDS = {"true", "1", "ja", "j", "yes", "x"}
FALSE_WORDS = {"false", "0", "nej", "n", "no"}


@dataclass(frozen=True)
class Reject:
    row_number: int
    column: str
    rule: str


@dataclass
class ParsedFile:
    # every row, typed; values that could not be converted are missing. Index = row number.
    frame: pd.DataFrame
    rejects: list[Reject]
    rejected_rows: set[int]
    extra_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    # what was noticed and handled without rejecting anything (e.g. a column delivered twice)
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> pd.DataFrame:
        return self.frame.loc[~self.frame.index.isin(self.rejected_rows)]

    @property
    def rows_total(self) -> int:
        return len(self.frame)


def parse_file(
    path: Path,
    contract: Contract,
    entity: Entity,
    *,
    pseudonymiser: Pseudonymiser,
    known_units: Collection[str] | None,
    today: date,
    name: str | None = None,
) -> ParsedFile:
    """The file's rows, typed, with the rows that can't be loaded named; or FileRejected. Whatever
    the bytes, nothing else is raised: a failure inside pandas, openpyxl, csv, zip or gzip becomes
    FileRejected("unreadable_file") naming the step that failed (its message, which may quote the
    data, is never kept). `name` is the file's name as delivered, for messages (default: the
    path's; the lake names its copies by their hash)."""
    name = redact(name or path.name)
    data = path.read_bytes()  # a disk that can't be read is not the file's fault: not caught
    step = _Step()
    try:
        return _parse(data, path, name, contract, entity, step, pseudonymiser, known_units,
                      today)
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("%s: %s failed with %s\n%s", name, step.now, type(exc).__name__,
                    "".join(traceback.format_tb(exc.__traceback__)))
        raise FileRejected(
            "unreadable_file",
            f"{name}: the file could not be read: {step.now} failed ({type(exc).__name__}); "
            "regbench does not know this kind of damage yet",
            action="Ask the registry to export and deliver the file again; if it is refused again, "
            "report it to the platform team with the file id.",
        ) from None


class _Step:
    """What parse_file is doing, for the message when something fails unexpectedly."""

    now = "reading the file"


def _parse(data: bytes, path: Path, name: str, contract: Contract, entity: Entity,
           step: _Step, pseudonymiser: Pseudonymiser, known_units: Collection[str] | None,
           today: date) -> ParsedFile:
    if not data:
        raise FileRejected(
            "empty_file", f"{name}: the file is empty (0 bytes)",
            action="Ask the registry to deliver the export again.",
        )
    fmt = contract.format_of(entity)
    notes: list[str] = []
    century: dict[int, tuple[str, int, int]] = {}
    uncomputed: dict[int, list[tuple[int, str]]] = {}  # workbook cells whose formula has no value
    kind = compression_of(data)
    if kind is not None and not (kind == "zip" and path.suffix.lower() == ".xlsx"):
        step.now = f"unpacking the {kind} archive"
        data = uncompress(data, kind, fmt.compression, name)
    if path.suffix.lower() == ".xlsx":
        step.now = "reading the Excel workbook"
        book = read_workbook(data, name, lambda cells: _header_fit(cells, entity))
        table, encoding, uncomputed = _Table(book.header, book.body), "xlsx", book.uncomputed
    else:
        step.now = "decoding the text"
        text, encoding = decode_text(data, name, fmt.delimiter)
        if encoding in OTHER_SINGLE_BYTE:
            notes.append(f"the file is written in {OTHER_SINGLE_BYTE[encoding]}, not Windows-1252: "
                         "read as Windows-1252 its å, ä, ö would be other characters, so it was "
                         f"read as {OTHER_SINGLE_BYTE[encoding]}; ask the registry to export "
                         "UTF-8 or Windows-1252")
        if not text.replace("\ufeff", "").strip():
            raise FileRejected(
                "empty_file",
                f"{name}: the file is empty (it holds only white space or a byte-order mark)",
                action="Ask the registry to deliver the export again.",
            )
        step.now = "reading the delimited text"
        headerless = _headerless_list_of(text, fmt.delimiter, entity)
        table = _read_table(text, fmt.delimiter, name, entity, headerless)
        if headerless:
            notes.append(f"the list has no header line: every line was read as a {headerless} "
                         "(row 1 is the first line)")
        _reject_if_truncated(text, fmt.delimiter, table, name)
        if table.skipped:
            notes.append(f"the header is on line {table.skipped + 1}: the {table.skipped} line(s) "
                         "above it (a title, empty lines) were not read")
    step.now = "matching the header to the contract"
    match = _match_header(table.header, entity, name)
    body = table.body
    # a row with every field empty (a trailing Excel row, a line of delimiters) holds no record
    blank = (body.apply(lambda c: c.astype("string[pyarrow]").str.strip() == "").all(axis=1)
             .to_numpy(dtype=bool)) if not body.empty else np.zeros(0, dtype=bool)
    blank &= ~body.index.isin(list(uncomputed))  # a formula without its value is no blank cell
    dropped = int(blank.sum())
    body = body.loc[~blank]
    if body.empty:
        raise FileRejected(
            "no_rows", f"{name}: the file has a header but no data rows",
            row=FIRST_DATA_ROW,
            action="Check that the export was not cut off; deliver it again with its rows.",
        )
    markers = {m.strip().lower() for m in fmt.missing_values}
    notes += _check_copies(match, table.header, body, markers, name)
    if dropped:
        notes.append(f"{dropped} blank row(s) (every field empty) were left out")
    repeated = _repeated_header(table.header, body)
    mapping = match.mapping
    formulas, note = _uncomputed_formulas(uncomputed, mapping, entity, body.index, name)
    if note:
        notes.append(note)

    out: dict[str, pd.Series] = {}
    problems: list[tuple[pd.Series, str, str]] = []  # (bool mask, column, rule)
    for col in entity.columns:
        step.now = f"reading column {col.name}"
        source = mapping.get(col.name)
        raw = (
            _clean(body[source], markers)
            if source is not None
            else pd.Series([None] * len(body), index=body.index, dtype=object)
        )
        formula = formulas.get(col.name)
        if formula is not None:
            problems.append((formula, col.name, "formula_not_computed"))
        if col.required:
            missing = raw.isna() if formula is None else raw.isna() & ~formula
            problems.append((missing, col.name, "required_missing"))
        if col.type in _LOADED_AS_WRITTEN or (col.type is ColumnType.UNIT and known_units is None):
            in_clear = _personnummer_in(raw, today, free_text=col.type is ColumnType.STRING)
            if in_clear is not None:
                if col.type is ColumnType.STRING:
                    # free text: the rest of the row is good data; only the value is dropped
                    notes.append(f"{int(in_clear.sum())} value(s) in column {col.name} held a "
                                 "personnummer and were blanked")
                else:
                    problems.append((in_clear, col.name, "personnummer_in_column"))
                raw = raw.where(~in_clear, None)  # not even in the frame the door checks see
        if col.type is ColumnType.PERSONNUMMER:
            if entity.role == "optouts":
                century = _century_readings(raw, pseudonymiser, today)
            persons, bad, born = _persons(raw, pseudonymiser, today)
            out.update(persons)
            for rule, mask in bad.items():
                problems.append((mask, col.name, rule))
            continue
        value, bad_mask, rule = _convert(raw, col, fmt.date_format, fmt.decimal, known_units,
                                         workbook=encoding == "xlsx")
        out[col.name] = value
        if bad_mask is not None:
            problems.append((bad_mask, col.name, rule))

    step.now = "checking dates and duplicates"
    problems.extend(_impossible_dates(out, entity, born, today))
    frame = pd.DataFrame(out, index=body.index)
    if entity.role == "optouts":
        # kept beside the frame, not in it: the opt-out is never applied to the + reading, only
        # warned about (optouts.apply_optout_list); attrs follow the frame's row and column slices
        frame.attrs[CENTURY_READINGS] = century
    rejects, rejected_rows = _collect(problems)
    if repeated:
        # the header again (two files concatenated): one clear reason, not a rule per column
        rejects = [r for r in rejects if r.row_number not in repeated]
        rejects.extend(Reject(r, entity.columns[0].name, "header_repeated") for r in repeated)
        rejects.sort(key=lambda r: (r.row_number, r.column))
        rejected_rows |= repeated
    _reject_duplicates(frame, entity, rejected_rows, rejects)
    return ParsedFile(frame, rejects, rejected_rows, match.extra, encoding, notes)


def _uncomputed_formulas(uncomputed: dict[int, list[tuple[int, str]]], mapping: dict[str, int],
                         entity: Entity, rows: pd.Index, name: str
                         ) -> tuple[dict[str, pd.Series], str | None]:
    """Per contract column, the rows whose cell holds a formula saved without its value (read as
    empty, it would be a missing value nobody wrote), and a note naming the first such cell. A
    workbook in which every row has one is refused as a whole: nothing in it can be trusted."""
    column_at = {pos: col for col, pos in mapping.items()}
    hits = [(row, column_at[pos], ref) for row in sorted(uncomputed) if row in rows
            for pos, ref in uncomputed[row] if pos in column_at]
    if not hits:
        return {}, None
    masks = {col: pd.Series(rows.isin([r for r, c, _ in hits if c == col]), index=rows)
             for col in {c for _, c, _ in hits}}
    row, column, ref = hits[0]
    if len({r for r, _, _ in hits}) == len(rows):
        raise FileRejected(
            "formulas_not_computed",
            f"{name}: every row holds formulas saved without their values ({len(hits)} cell(s), "
            f"first {ref} in column {column}); the program that wrote the workbook did not "
            "compute them, so they would be read as empty",
            row=row, column=column, action=RECOMPUTE,
        )
    return masks, (f"{len(hits)} cell(s) hold a formula saved without its value (first {ref}, "
                   f"column {column}); their rows are rejected as formula_not_computed: "
                   f"{RECOMPUTE[0].lower()}{RECOMPUTE[1:]}")


def _repeated_header(header: list[str], body: pd.DataFrame) -> set[int]:
    """Rows that repeat the header (case and outer whitespace aside)."""
    expected = [h.lower() for h in header]
    first = body[0].astype("string[pyarrow]").str.strip().str.lower() == expected[0]
    rows = body.loc[first.fillna(False).to_numpy(dtype=bool)]
    return {int(i) for i, values in zip(rows.index, rows.itertuples(index=False), strict=True)
            if [str(v).strip().lower() for v in values] == expected}


@dataclass
class _Table:
    """A delivered table as text: the header as written (byte-order mark and outer whitespace
    removed) and the body with one column per header position, every cell a str (missing ""),
    indexed by row number."""

    header: list[str]
    body: pd.DataFrame
    skipped: int = 0   # lines above the header (a title), not read


def _read_table(text: str, delimiter: str, name: str, entity: Entity,
                headerless: str | None = None) -> _Table:
    """Read with one spare column past the header: a delimiter after every data row but not after
    the header would otherwise make pandas take the first column as the index and shift the rest.
    A `headerless` list (see _headerless_list_of) gets that column as its header, and its first
    line is row 1."""
    skip = 0 if headerless else _lines_above_header(text, delimiter, entity)
    first = _read_csv(text, delimiter, name, nrows=1, skiprows=skip)
    width = len(first.columns)
    if width == 1 and not headerless:
        _reject_other_delimiter(str(first.iloc[0, 0]), delimiter, name, entity)
    # blank lines are rows too: a row number is the line an editor or a spreadsheet shows (they
    # are left out later as blank rows)
    frame = _read_csv(text, delimiter, name, names=range(width + 1), skiprows=skip,
                      skip_blank_lines=False)
    if headerless:
        header = [headerless] + [f"(column {i + 1} without a header)" for i in range(1, width)]
        body = frame
        body.index = pd.RangeIndex(1, 1 + len(body))
    else:
        header = [str(h).replace("\ufeff", "").strip() for h in frame.iloc[0, :width]]
        body = frame.iloc[1:]
        body.index = pd.RangeIndex(FIRST_DATA_ROW + skip, FIRST_DATA_ROW + skip + len(body))
    spare = body[width]
    filled = spare.to_numpy() != ""
    if filled.any():
        row = int(body.index[filled.argmax()])
        raise FileRejected(
            "extra_field",
            f"{name}: row {row} has a value in field {width + 1}, after the last of the header's "
            f"{width} columns; a delimiter inside an unquoted value, or a column without a header, "
            "would shift the values into the wrong columns",
            row=row,
            action="Quote values that contain the delimiter (or give every column a header) and "
            "deliver the export again.",
        )
    return _Table(header, body.drop(columns=width), skip)


# how many lines from the top are searched for the header when the first line is not it (a title
# line and an empty line above it, as exports written by hand often have)
HEADER_SEARCH_LINES = 10


def _lines_above_header(text: str, delimiter: str, entity: Entity) -> int:
    """How many lines come before the header: 0 when the first line names a contract column or
    no line of the first HEADER_SEARCH_LINES holds every required column; else the first line that
    does (title and empty lines above it are skipped, and the table says how many)."""
    lines = text.lstrip("\ufeff").split("\n", HEADER_SEARCH_LINES)[:HEADER_SEARCH_LINES]

    def cells(line: str) -> list[str]:
        try:
            return [c.strip() for c in next(csv.reader([line.rstrip("\r")], delimiter=delimiter),
                                            [])]
        except csv.Error:
            return []

    if _header_fit(cells(lines[0]), entity)[1]:
        return 0
    for n, line in enumerate(lines[1:], start=1):
        missing, named = _header_fit(cells(line), entity)
        if named and not missing:
            return n
    return 0


# a personnummer as a list without a header writes it on its first line (12 or 10 digits, with or
# without a separator, reserve numbers' letters); a header never looks like this
_PERSON_SHAPED = re.compile(r"(?:\d{2})?\d{6}[-+ ]?[0-9A-Za-z]{4}")


def _headerless_list_of(text: str, delimiter: str, entity: Entity) -> str | None:
    """An opt-out list delivered without its header line (one personnummer per line, as registries
    often write it) starts with a personnummer: the first line is a person, not a header, and must
    not be lost. Returns the personnummer column to read every line as, or None."""
    if entity.role != "optouts":
        return None
    persons = [c for c in entity.columns if c.type is ColumnType.PERSONNUMMER]
    if len(persons) != 1 or any(c.required and c is not persons[0] for c in entity.columns):
        return None
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    first = first_line.split(delimiter, 1)[0].strip().strip('"').strip()
    if _header_column(first, entity) is not None or not _PERSON_SHAPED.fullmatch(first):
        return None
    return persons[0].name


DELIMITER_NAMES = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "vertical bar (|)"}


def _delimiter_name(delimiter: str) -> str:
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _reject_other_delimiter(header: str, delimiter: str, name: str, entity: Entity) -> None:
    """A header read as one column that names no contract column but holds another common
    delimiter: the file uses that one (left alone, every required column would seem missing)."""
    header = header.replace("\ufeff", "").strip()
    if _header_column(header, entity) is not None:
        return
    counts = {d: header.count(d) for d in DELIMITER_NAMES if d != delimiter}
    found, n = max(counts.items(), key=lambda kv: kv[1])
    if n:
        raise FileRejected(
            "wrong_delimiter",
            f"{name}: the header reads as a single column, which {_delimiter_name(found)} splits "
            f"into {n + 1}: the file is delimited by {_delimiter_name(found)}, but the registry's "
            f"contract says {_delimiter_name(delimiter)}",
            row=1,
            action=f"Export the file again with {_delimiter_name(delimiter)} as delimiter, or change "
            "the delimiter in the registry's contract if the registry has changed its export.",
        )


def _read_csv(text: str, delimiter: str, name: str, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            na_filter=False, quoting=csv.QUOTE_MINIMAL, engine="c", **kwargs,
        )
    except pd.errors.EmptyDataError:
        raise FileRejected("no_header", f"{name}: the file has no header line",
                           row=1, action="Deliver the export with its header line.") from None
    except pd.errors.ParserError as exc:
        unclosed = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if unclosed:
            # pandas counts records from 0 (the header); reasons count rows as a spreadsheet does
            row = int(unclosed.group(1)) + 1
            line = _line_of_record(text, delimiter, row)
            where = f"row {row}" + (f" (line {line} in a text editor)" if line not in (None, row)
                                    else "")
            raise FileRejected(
                "malformed_csv",
                f"{name}: {where} opens a quoted value (a \" character) that is never closed, so "
                "everything after it to the end of the file would be one value; the file is "
                "not read",
                row=row,
                action="Check the quote characters in the row named here: a value that begins "
                "with a quote must end with one, and a quote inside a quoted value is written "
                "twice (\"\"); or the file was cut off inside that value. Deliver the corrected "
                "export again.",
            ) from None
        # "Expected n fields in line m": m counts records from 1, the header being 1, as rows do
        row = _line_of(str(exc))
        raise FileRejected(
            "malformed_csv",
            f"{name}: the file cannot be read as delimited text"
            + (f" at row {row}" if row else "")
            + f" ({exc}); it may be cut off in the middle of a row or use another delimiter",
            row=row,
            action="Check the row named here; deliver the complete export again.",
        ) from None


def _line_of_record(text: str, delimiter: str, row: int) -> int | None:
    """The line (from 1) on which record `row` (from 1, the header being 1) starts, or None."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    start = 1
    try:
        for n, _ in enumerate(reader, start=1):
            if n == row:
                return start
            start = reader.line_num + 1
    except csv.Error:  # e.g. a field over csv's size limit: the line is not told, the row is
        return None
    return None


def _reject_if_truncated(text: str, delimiter: str, table: _Table, name: str) -> None:
    """A file that ends in the middle of a row was cut off in transfer; loading it would lose rows.
    Judged on the last record, which may span several lines (a quoted value with line breaks)."""
    if not len(table.body) or text.endswith(("\n", "\r")):
        return
    fields = _last_record(text, delimiter, list(table.body.iloc[-1]))
    width = len(table.header)
    if fields is not None and len(fields) < width:
        row = int(table.body.index[-1])
        raise FileRejected(
            "truncated_file",
            f"{name}: the file ends in the middle of row {row} ({len(fields)} of "
            f"{width} columns, no final line break); it was probably cut off in transfer",
            row=row, column=table.header[len(fields) - 1] if fields else None,
            action="Deliver the complete export again; the earlier rows are not loaded on their own.",
        )


def _last_record(text: str, delimiter: str, last_row: list[str]) -> list[str] | None:
    """The fields of the text's last record as written (pandas pads a short row with empty values,
    so it can't tell), or None if it can't be told.

    The record starts after the last line break outside quotes: one with an even number of quote
    characters before it. A stray quote inside an unquoted value breaks that count; then the tail
    does not read as one record matching pandas' last row, and the whole text is read instead."""
    quotes = text.count('"')
    end = len(text)
    while True:
        start = text.rfind("\n", 0, end) + 1
        if start == 0 or (quotes - text.count('"', start)) % 2 == 0:
            break
        end = start - 1
    try:
        records = list(csv.reader(io.StringIO(text[start:]), delimiter=delimiter))
        if len(records) == 1 and _same_row(records[0], last_row):
            return records[0]
        last = None
        for last in csv.reader(io.StringIO(text), delimiter=delimiter):  # noqa: B007
            pass
        return last if last is not None and _same_row(last, last_row) else None
    except csv.Error:
        return None


def _same_row(fields: list[str], row: list[str]) -> bool:
    """Whether pandas read `fields` as `row` (padded with empty values, the spare field dropped)."""
    n = len(row)
    return fields[:n] + [""] * (n - len(fields)) == row and not any(fields[n:])


def _line_of(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class _HeaderMatch:
    mapping: dict[str, int]                   # contract column -> header position loaded
    extra: list[str]                          # header names no contract column takes
    copies: list[tuple[str, int, int]]        # (contract column, position loaded, another position)


def _match_header(header: list[str], entity: Entity, name: str) -> _HeaderMatch:
    """Each contract column's header position: its own name as written beats its name in another
    case, which beats an alias; the first of equals wins. Other headers for the same column are
    copies, checked against the one loaded."""
    candidates: dict[str, list[tuple[int, int]]] = {}   # column -> [(rank, position)]
    unused: list[int] = []
    for pos, h in enumerate(header):
        col = _header_column(h, entity)
        if col is None:
            unused.append(pos)
            continue
        rank = 0 if h == col.name else 1 if h.lower() == col.name else 2
        candidates.setdefault(col.name, []).append((rank, pos))
    mapping: dict[str, int] = {}
    copies: list[tuple[str, int, int]] = []
    for col_name, found in candidates.items():
        (_, chosen), *others = sorted(found)
        mapping[col_name] = chosen
        for _, pos in sorted(others, key=lambda o: o[1]):
            copies.append((col_name, chosen, pos))
            unused.append(pos)
    missing = [c.name for c in entity.columns if c.required and c.name not in mapping]
    if missing and not mapping and _looks_like_data(header):
        raise FileRejected(
            "header_missing",
            f"{name}: the first line looks like data, not a header ({len(header)} values such as "
            "numbers, dates or personnummer, and no column name of the registry's contract): the "
            "header line is missing",
            row=1,
            action="Add the header line (the column names, e.g. "
            f"{';'.join(c.name for c in entity.columns[:3])};...) as the first line and deliver "
            "the export again.",
        )
    if missing:
        raise FileRejected(
            "required_column_missing",
            f"{name}: required column(s) {', '.join(missing)} missing from the header",
            row=1, column=missing[0],
            action="Deliver the export with these columns, or add the header name the registry "
            "now uses as an alias in the registry's contract.",
        )
    return _HeaderMatch(mapping, [redact(header[pos]) for pos in sorted(unused)], copies)


# a value as an export writes it: a number, a date or date-time, a personnummer or a unit code
_DATA_VALUE = re.compile(
    r"[+-]?\d+(?:[.,]\d+)?|\d{4}-\d{2}-\d{2}(?:[ T].*)?|\d{8}|(?:\d{2})?\d{6}[-+ ]?[0-9A-Za-z]{4}"
    r"|SE\d{10}-\w+")


def _looks_like_data(header: list[str]) -> bool:
    """Whether a header row that names no contract column is rather the first data row: at least
    half of its non-empty cells, and two or more, are values (numbers, dates, personnummer)."""
    cells = [h.strip() for h in header if h.strip()]
    values = sum(1 for h in cells if _DATA_VALUE.fullmatch(h))
    return values >= 2 and 2 * values >= len(cells)


def _header_fit(cells: list[str], entity: Entity) -> tuple[list[str], int]:
    """(required contract columns a header row lacks, how many contract columns it names)."""
    named = {col.name for h in cells if (col := _header_column(h, entity)) is not None}
    return [c.name for c in entity.columns if c.required and c.name not in named], len(named)


def _header_column(header: str, entity: Entity) -> Column | None:
    low = header.lower()
    return next((c for c in entity.columns if low in c.header_names), None)


def _check_copies(match: _HeaderMatch, header: list[str], body: pd.DataFrame, markers: set[str],
                  name: str) -> list[str]:
    """A contract column under two headers loads only if both hold the same values in every row
    (as read: trimmed, missing markers missing); notes saying which one was loaded."""
    notes = []
    for col_name, chosen, other in match.copies:
        a = _clean(body[chosen], markers).fillna("")
        b = _clean(body[other], markers).fillna("")
        differ = (a != b).to_numpy()
        loaded, copy = redact(header[chosen]), redact(header[other])
        if differ.any():
            row = int(body.index[differ.argmax()])
            raise FileRejected(
                "conflicting_columns",
                f"{name}: the header columns {loaded!r} (position {chosen + 1}) and {copy!r} "
                f"(position {other + 1}) both mean the contract's column {col_name}, and their "
                f"values differ, first in row {row}; which one is right cannot be told",
                row=row, column=col_name,
                action="Deliver the export with one of the two columns, or rename the other one "
                "in the export (or in the contract's aliases) so it no longer means the same.",
            )
        notes.append(f"columns {loaded!r} and {copy!r} both mean {col_name} and hold the same "
                     f"values; {loaded!r} was loaded")
    return notes


def _clean(series: pd.Series, markers: set[str]) -> pd.Series:
    """Trim (non-breaking spaces too) and turn the missing-value markers into None; vectorised."""
    stripped = series.astype("string[pyarrow]").str.strip()
    missing = stripped.isna() | stripped.str.lower().isin(markers)
    return stripped.astype(object).where(~missing.to_numpy(dtype=bool, na_value=True), None)


_NOT_A_PERSON = (None, None, None, None, None, None)


def _person(value: str, pseudonymiser: Pseudonymiser, today: date, pnr: Pnr | None = None) -> tuple:
    """(pseudonym, kind, birth year, sex, birth date, rule) for one personnummer as written."""
    if pnr is None:
        try:
            pnr = parse_pnr(value, today=today)
        except InvalidPersonnummer as exc:
            return (*_NOT_A_PERSON[:5], exc.rule)
    born = pnr.birth_date
    return (pseudonymiser.pseudonym(pnr), pnr.kind.value, born.year if born else None, pnr.sex, born,
            None)


# frame.attrs key of an opt-out list: row -> (pseudonym of the + reading, birth year as written,
# birth year with +) for 10-digit numbers written with - or no separator
CENTURY_READINGS = "century_readings"
_TEN_WITH_DASH = re.compile(r"(\d{6})-?(\d{4})")


def _century_readings(raw: pd.Series, pseudonymiser: Pseudonymiser, today: date
                      ) -> dict[int, tuple[str, int, int]]:
    """For each 10-digit personnummer written with - (or without separator) whose reading with +
    (the same digits, 100 years older) is a valid personnummer too: that reading's pseudonym and
    both birth years. A person of 100 or more written with - instead of + reads as a child; the
    opt-out list's handling decides what to say when only the + reading is registered."""
    found: dict[int, tuple[str, int, int]] = {}
    for row, value in raw.dropna().items():
        m = _TEN_WITH_DASH.fullmatch(re.sub(r"\s+", "", str(value)))
        if m is None:
            continue
        try:
            written = parse_pnr(f"{m.group(1)}-{m.group(2)}", today=today)
            older = parse_pnr(f"{m.group(1)}+{m.group(2)}", today=today)
        except InvalidPersonnummer:
            continue
        if written.birth_date and older.birth_date and written.birth_date != older.birth_date:
            found[int(row)] = (pseudonymiser.pseudonym(older), written.birth_date.year,
                               older.birth_date.year)
    return found


def _persons(raw: pd.Series, pseudonymiser: Pseudonymiser, today: date):
    # each distinct value is parsed and keyed once; registries repeat persons across rows
    values = raw.dropna().unique().tolist()
    plain = valid_plain_twelve_digit(values, today)
    distinct = {v: _person(v, pseudonymiser, today, plain.get(v)) for v in values}
    rows = [distinct[v] if v is not None else _NOT_A_PERSON for v in raw.tolist()]
    ids, kinds, years, sexes, born, rules = (list(col) for col in zip(*rows, strict=True)) if rows else (
        [], [], [], [], [], [])
    bad: dict[str, list[bool]] = {}
    for i, rule in enumerate(rules):
        if rule:
            bad.setdefault(rule, [False] * len(raw))[i] = True
    idx = raw.index
    persons = {
        "person_id": pd.Series(ids, index=idx, dtype=object),
        "pnr_kind": pd.Series(kinds, index=idx, dtype=object),
        "birth_year": pd.Series(years, index=idx, dtype="Int64"),
        "sex": pd.Series(sexes, index=idx, dtype=object),
    }
    births = pd.to_datetime(pd.Series(born, index=idx, dtype=object)).astype("datetime64[ns]")
    return persons, {rule: pd.Series(mask, index=idx) for rule, mask in bad.items()}, births


# column types whose values are loaded as written (and unit codes when no list of known units
# limits them): a personnummer in one of them would be stored in clear text
_LOADED_AS_WRITTEN = frozenset({ColumnType.STRING, ColumnType.DECIMAL, ColumnType.INTEGER})


# 6 or 8 date digits, an optional separator, then four digits or reserve characters; not inside a
# longer run of digits (redaction's shape)
_PNR_CANDIDATE = re.compile(
    r"(?<![0-9])(?:\d{2})?\d{6}(?:[-+ _.]?\d{4}|[-+][0-9A-Za-z]{4})(?![0-9])")


# in free text, anything shaped like a personnummer or samordningsnummer, whatever its check digit
# (one wrong digit still identifies the person): 10 or 12 digits, not inside a longer run of
# digits, with `-`, `+`, an en dash or a minus sign (spaces around it allowed) or a space or nothing
# between date and number; the date part plausible (month 01-12, day 01-31 or 61-91 for a
# samordningsnummer, a 12-digit number's year 18xx-20xx)
_FREE_TEXT_PNR = re.compile(
    r"(?<![0-9])(?:1[89]|20)?\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])"
    r"(?:[ \u00a0]*[-+\u2013\u2212][ \u00a0]*|[ \u00a0]?)\d{4}(?![0-9])")


def _personnummer_in(raw: pd.Series, today: date, *, free_text: bool = False) -> pd.Series | None:
    """Rows whose value holds a valid personnummer, samordningsnummer or reserve number (parse_pnr
    accepts it: a real date, the Luhn check digit), or None if none does. Only values with six
    digits in a row, found column-wise, are looked at one by one; dates written 2024-01-15 never
    are, and a phone number such as 070-1234567 is not shaped as one. In `free_text` (a string
    column, whose value is blanked, not its row rejected) anything _FREE_TEXT_PNR finds counts,
    valid or not; written without separator, a mobile number (0701234567) is blanked too."""
    if free_text:
        valid = _personnummer_in(raw, today)  # reserve numbers, other separators (_ .)
        hit = np.zeros(len(raw), dtype=bool) if valid is None else valid.to_numpy(bool).copy()
        digits = raw.astype("string[pyarrow]").str.contains(r"\d{6}").fillna(False).to_numpy(bool)
        rows = np.flatnonzero(digits & ~hit)
        hit[rows] = [_FREE_TEXT_PNR.search(v) is not None for v in raw.to_numpy()[rows]]
        return pd.Series(hit, index=raw.index) if hit.any() else None
    shaped = r"\d{6}(?:[-+ _.]?\d{4}|[-+][0-9A-Za-z]{4})"
    candidate = raw.astype("string[pyarrow]").str.contains(shaped).fillna(False).to_numpy(bool)
    if not candidate.any():
        return None
    rows = np.flatnonzero(candidate)
    values = raw.to_numpy()[rows]
    # unit codes (HSA-ids hold ten digits) repeat: each distinct value is judged once
    verdict = {v: _holds_valid_pnr(v, today) for v in pd.unique(values)}
    hit = np.zeros(len(raw), dtype=bool)
    hit[rows] = [verdict[v] for v in values]
    return pd.Series(hit, index=raw.index) if hit.any() else None


def _holds_valid_pnr(value: str, today: date) -> bool:
    for m in _PNR_CANDIDATE.finditer(value):
        written = re.sub(r"[_.]", "-", m.group(0))
        try:
            parse_pnr(written, today=today)
        except InvalidPersonnummer:
            continue
        return True
    return False


def parse_dates(raw: pd.Series, primary_format: str) -> pd.Series:
    """Contract format first, then the other unambiguous forms, then Excel serial numbers (a time
    of day as a fraction: 45356.5 is noon on 2024-03-05). Date-times give their day."""
    result = _dates_in_format(raw, primary_format)
    for fmt in FALLBACK_DATE_FORMATS:
        todo = result.isna() & raw.notna()
        if not todo.any():
            break
        if fmt != primary_format:
            result[todo] = _dates_in_format(raw[todo], fmt)
    todo = result.isna() & raw.notna()
    if todo.any():
        written = raw[todo].astype("string[pyarrow]")
        serial = pd.to_numeric(
            written.where(written.str.fullmatch(r"\d{5}(?:[.,]\d+)?").fillna(False))
            .str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        plausible = serial.between(20000, 80000)  # 1954..2119
        result[todo] = pd.to_datetime(
            serial.where(plausible).floordiv(1), unit="D", origin="1899-12-30", errors="coerce"
        )
    return result.dt.normalize().astype("datetime64[ns]")


# years a date column can hold (nanosecond timestamps end in 2262); outside, the value is invalid
_FIRST_YEAR, _LAST_YEAR = 1800, 2200


def _dates_in_format(raw: pd.Series, fmt: str) -> pd.Series:
    """strptime reads `%Y%m%d` from fewer digits (2024111 as 2024-11-01, or is it 2024-01-11?):
    a compact date must have its eight digits."""
    if "%Y%m%d" in fmt:
        raw = raw.where(raw.astype("string[pyarrow]").str.match(r"\d{8}(?:\D|$)").fillna(False))
    found = pd.to_datetime(raw, format=fmt, errors="coerce")
    if isinstance(found.dtype, pd.DatetimeTZDtype):  # an offset in the format (%z): the day written
        found = found.dt.tz_localize(None)
    found = found.where((found.dt.year >= _FIRST_YEAR) & (found.dt.year <= _LAST_YEAR))
    return found.dt.floor("D").astype("datetime64[ns]")


def _convert(raw: pd.Series, col: Column, date_format: str, decimal: str,
             known_units: Collection[str] | None, *, workbook: bool = False):
    present = raw.notna()
    t = col.type
    if t is ColumnType.DATE:
        value = parse_dates(raw, date_format)
        return value, present & value.isna(), "date_invalid"
    if t in (ColumnType.DECIMAL, ColumnType.INTEGER):
        return _numbers(raw, present, decimal, integer=t is ColumnType.INTEGER, workbook=workbook)
    if t is ColumnType.CODE:
        codes = col.codes or {}
        value = raw.where(raw.isin(list(codes)) | raw.isna(), None)
        return value.astype(object), present & value.isna(), "code_not_in_list"
    if t is ColumnType.UNIT:
        if known_units is None:
            return raw, None, ""
        value = raw.where(raw.isin(list(known_units)) | raw.isna(), None)
        return value.astype(object), present & value.isna(), "unit_unknown"
    if t is ColumnType.BOOLEAN:
        low = raw.str.lower()
        value = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        value[low.isin(TRUE_WORDS)] = True
        value[low.isin(FALSE_WORDS)] = False
        return value, present & value.isna(), "boolean_invalid"
    return raw.astype(object), None, ""


# thousands separators inside numbers: space, no-break space, narrow no-break space, thin space
_THOUSANDS = " \u00a0\u202f\u2009"
_EXACT_FLOAT_LIMIT = 2.0**53


def _number_shape(decimal: str, *, integer: bool) -> str:
    """A number as written: digits, optionally grouped by threes with a thousands separator, and a
    fraction with at least one digit after the decimal separator (`23,` is a value cut off). A
    file with decimal commas may also write a decimal point, as spreadsheets do (see _AMBIGUOUS),
    but no exponent: `0,5e1` is not how a decimal-comma export writes 5."""
    point = "[.,]" if decimal == "," else r"\."
    whole = rf"(?:\d+|\d{{1,3}}(?:[{_THOUSANDS}]\d{{3}})+)"
    exponent = "" if integer or decimal == "," else r"(?:[eE][+-]?\d+)?"
    return rf"[+-]?(?:{whole}(?:{point}\d+)?|{point}\d+){exponent}"


# with a decimal comma, a dot before exactly three digits may be a thousands separator (1.000 is
# one thousand in Swedish writing, 1.0 in English): refused. A dot before 1, 2 or 4+ digits, or
# after a whole part of 0 or 4+ digits, can only be a decimal point (1.5, 0.125, 1234.567): read.
# Not applied to workbooks, whose numeric cells are written with a decimal point (cell_text).
_AMBIGUOUS = r"[+-]?[1-9]\d{0,2}\.\d{3}"


def _numbers(raw: pd.Series, present: pd.Series, decimal: str, *, integer: bool,
             workbook: bool = False):
    text = raw.astype("string[pyarrow]")  # pyarrow's regular expressions: 3x faster on a column
    shaped = text.str.fullmatch(_number_shape(decimal, integer=integer)).fillna(False)
    if decimal == "," and not workbook:
        shaped = shaped & ~text.str.fullmatch(_AMBIGUOUS).fillna(False)
    text = text.where(shaped).str.replace(f"[{_THOUSANDS}]", "", regex=True)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    value = pd.to_numeric(text, errors="coerce").astype("float64")
    # beyond 2**53 a float is no longer exact (and 1e400 is infinite): not a value to load
    value = value.where(value.abs() < _EXACT_FLOAT_LIMIT)
    if integer:
        value = value.where(value == value.round()).astype("Int64")
        return value, present & value.isna(), "integer_invalid"
    return value, present & value.isna(), "decimal_invalid"


def _impossible_dates(values: dict[str, pd.Series], entity: Entity, born: pd.Series, today: date):
    """Dates in the future, before the person's birth, or out of the order the contract names."""
    horizon = pd.Timestamp(today)
    for col in entity.columns:
        if col.type is ColumnType.DATE:
            v = values[col.name]
            yield (v > horizon).fillna(False), col.name, "date_in_future"
            yield (v < born).fillna(False), col.name, "date_before_birth"
    for earlier, later in entity.date_order:
        yield (values[later] < values[earlier]).fillna(False), later, "date_order"


def _collect(problems: list[tuple[pd.Series, str, str]]) -> tuple[list[Reject], set[int]]:
    rejects: list[Reject] = []
    rows: set[int] = set()
    for mask, column, rule in problems:
        if not rule:
            continue
        hit = mask[mask.fillna(False).astype(bool)].index
        rejects.extend(Reject(int(r), column, rule) for r in hit)
        rows.update(int(r) for r in hit)
    rejects.sort(key=lambda r: (r.row_number, r.column))
    return rejects, rows


def _reject_duplicates(frame: pd.DataFrame, entity: Entity, rejected_rows: set[int],
                       rejects: list[Reject]) -> None:
    if not entity.key_columns:
        return
    keys = entity.raw_key_columns
    candidates = frame.loc[~frame.index.isin(rejected_rows), keys]
    dup = candidates.duplicated(keep="first")
    for r in candidates.index[dup]:
        rejects.append(Reject(int(r), entity.key_columns[0], "duplicate_in_file"))
        rejected_rows.add(int(r))
    rejects.sort(key=lambda r: (r.row_number, r.column))
