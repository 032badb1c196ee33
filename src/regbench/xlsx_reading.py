"""An Excel export (.xlsx) as the header and rows of text a CSV export would hold.

The archive is checked before openpyxl opens it (a workbook of a few hundred KB can unpack to
gigabytes), then read in openpyxl's read-only mode, which streams the sheets. The contract's header
is looked for in the first rows of every visible sheet: exports put title rows above it, or the data
on another sheet than the first. Hidden sheets are never read; two visible sheets holding the header
are refused. Rows are numbered as Excel numbers them.

A formula saved without its value (by a tool that does not compute formulas: openpyxl, some report
generators) reads as an empty cell. Such cells are found (a second, formula-reading pass over the
sheet, only when the workbook holds formulas at all) and returned by their row and column, so the
parser rejects their rows instead of loading a silently missing value.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from regbench.parse_errors import FileRejected
from regbench.redaction import redact

# the most the members of a workbook may unpack to together; larger workbooks are not opened
MAX_XLSX_UNCOMPRESSED_BYTES = 200 * 2**20
# how many rows of each sheet are searched for the contract's header
HEADER_SCAN_ROWS = 20
# how many columns of those rows are read while searching (a sheet may claim 16 384)
HEADER_SCAN_COLUMNS = 2000
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

RESAVE = "Open the file in Excel, save it again as .xlsx (or export CSV) and deliver it again."

RECOMPUTE = ("Open and save the file in Excel so the values are computed (or export it as CSV from "
             "Excel), then deliver it again.")

# cells of one header row -> (required contract columns it lacks, contract columns it names)
HeaderFit = Callable[[list[str]], tuple[list[str], int]]

# a formula element in a worksheet's XML (`<f>`, `<f t="shared" .../>`, with or without a prefix)
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


@dataclass
class Workbook:
    header: list[str]
    # one column per header position, every cell a str (missing ""), indexed by Excel row number
    body: pd.DataFrame
    # cells holding a formula with no computed value: Excel row -> [(header position, "C5")]
    uncomputed: dict[int, list[tuple[int, str]]] = field(default_factory=dict)


def read_workbook(data: bytes, name: str, fit: HeaderFit) -> Workbook:
    """The sheet holding the contract's header, below it; rows with no value at all (and no
    uncomputed formula) are left out."""
    _check_archive(data, name)
    import openpyxl  # an attribute lookup, so a test can see whether the workbook is opened

    try:
        formulas = _has_formulas(data)
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                    keep_links=False)
        # the same workbook read for its formulas, walked in step with the values
        wf = (openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                                     keep_links=False) if formulas else None)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _unreadable(name, exc) from None
    try:
        return _read_sheets(wb, wf, name, fit)
    except FileRejected:
        raise
    except Exception as exc:  # a sheet's XML damaged past its first rows
        raise _unreadable(name, exc) from None
    finally:
        wb.close()
        if wf is not None:
            wf.close()


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet holds a formula (streamed: a sheet may unpack to many MB)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in zf.infolist():
            if not member.filename.startswith("xl/worksheets/") or member.is_dir():
                continue
            tail = b""
            with zf.open(member) as fh:
                while chunk := fh.read(1 << 20):
                    if _FORMULA_TAG.search(tail + chunk):
                        return True
                    tail = chunk[-16:]
    return False


def cell_text(value) -> str:
    """A cell as a CSV export writes it: whole numbers without a decimal part (a personnummer
    stored as a number stays 12 digits), dates as ISO dates, date-times with their time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        text = repr(value)
        # 1e-05 as 0.00001: a decimal-comma contract reads no exponent
        return np.format_float_positional(value, trim="-") if "e" in text else text
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _check_archive(data: bytes, name: str) -> None:
    if data.startswith(_OLE2):
        raise FileRejected(
            "unreadable_xlsx",
            f"{name}: the file is an Excel 97-2003 workbook (.xls), not an .xlsx workbook",
            action="Open the file in Excel, save it as .xlsx (or export CSV) and deliver it again.",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(member.file_size for member in zf.infolist())
    except zipfile.BadZipFile:
        if not data.startswith(b"PK"):
            raise FileRejected(
                "unreadable_xlsx",
                f"{name}: the file is not an Excel workbook (an .xlsx file is a zip archive); it "
                "may be a text export with the wrong name",
                action="Deliver the export under the name its contents have (.csv for text), or "
                "save it again as .xlsx.",
            ) from None
        raise _unreadable(name, zipfile.BadZipFile()) from None
    except Exception as exc:  # a damaged central directory raises several kinds
        raise _unreadable(name, exc) from None
    if unpacked > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise FileRejected(
            "xlsx_too_large",
            f"{name}: the workbook unpacks to {unpacked // 2**20} MB, more than the "
            f"{MAX_XLSX_UNCOMPRESSED_BYTES // 2**20} MB an Excel delivery may hold; it was not opened",
            action="Export the data as CSV (or split the workbook into smaller files, one per "
            "month) and deliver it again.",
        )


def _unreadable(name: str, exc: BaseException) -> FileRejected:
    return FileRejected(
        "unreadable_xlsx", f"{name}: the Excel file cannot be opened ({type(exc).__name__})",
        action=RESAVE,
    )


def _read_sheets(wb, wf, name: str, fit: HeaderFit) -> Workbook:
    """The one visible sheet holding the contract's header. Hidden sheets are skipped (they hold
    test rows, lookups or an older export nobody sees); two visible sheets with the header are
    refused, since which one is the export cannot be told."""
    titles = []
    best: tuple[int, str, int, list[str]] | None = None   # (named columns, sheet, row, missing)
    found: list[tuple[object, int, list[str]]] = []       # (sheet, header row, header)
    hidden: list[str] = []                                # hidden sheets holding the header
    for ws in wb.worksheets:
        is_hidden = getattr(ws, "sheet_state", "visible") != "visible"
        titles.append(ws.title)
        scan = ws.iter_rows(max_row=HEADER_SCAN_ROWS, max_col=HEADER_SCAN_COLUMNS, values_only=True)
        for row_number, cells in enumerate(scan, start=1):
            header = [cell_text(v).strip() for v in cells]
            while header and not header[-1]:
                header.pop()
            if not header:
                continue
            missing, named = fit(header)
            if named and not missing:
                if is_hidden:
                    hidden.append(ws.title)
                else:
                    found.append((ws, row_number, header))
                break
            if named and not is_hidden and (best is None or named > best[0]):
                best = (named, ws.title, row_number, missing)
    if len(found) > 1:
        sheets = ", ".join(repr(redact(ws.title)) for ws, _, _ in found)
        raise FileRejected(
            "ambiguous_sheets",
            f"{name}: {len(found)} visible sheets hold the contract's header ({sheets}); which one "
            "is the export cannot be told",
            action="Deliver the workbook with the export on one sheet only (delete or hide the "
            "others), or export that sheet as CSV.",
        )
    if found:
        ws, row_number, header = found[0]
        return _body(ws, wf[ws.title] if wf is not None else None, row_number, header, name)
    if hidden and best is None:
        sheets = ", ".join(repr(redact(t)) for t in hidden)
        raise FileRejected(
            "header_only_on_hidden_sheet",
            f"{name}: the contract's header is only on hidden sheet(s) ({sheets}); hidden sheets "
            "are not read (they often hold test rows or an older export)",
            action="Make the export's sheet visible (or move the data to a visible sheet) and "
            "deliver the workbook again.",
        )
    if best is not None:
        _, sheet, row_number, missing = best
        raise FileRejected(
            "required_column_missing",
            f"{name}: required column(s) {', '.join(missing)} missing from the header "
            f"(sheet {redact(sheet)!r}, row {row_number})",
            row=row_number, column=missing[0],
            action="Deliver the export with these columns, or add the header name the registry "
            "now uses as an alias in the registry's contract.",
        )
    looked_at = ", ".join(repr(redact(t)) for t in titles) or "none"
    raise FileRejected(
        "header_not_found",
        f"{name}: no sheet has the contract's header in its first {HEADER_SCAN_ROWS} rows "
        f"(sheets looked at: {looked_at})",
        action="Deliver the workbook with the export's header row (the contract's column names) "
        "on one sheet, or export the data as CSV.",
    )


def _body(ws, wf, header_row: int, header: list[str], name: str) -> Workbook:
    """The rows below the header, one spare column wide: a value right of the header is refused,
    as in a delimited file. `wf` is the same sheet read for formulas (None: it holds none)."""
    from openpyxl.utils import get_column_letter

    width = len(header)
    numbers: list[int] = []
    rows: list[list[str]] = []
    uncomputed: dict[int, list[tuple[int, str]]] = {}
    cells = ws.iter_rows(min_row=header_row + 1, max_col=width + 1, values_only=True)
    written = (wf.iter_rows(min_row=header_row + 1, max_col=width + 1, values_only=True)
               if wf is not None else None)
    for row_number, values in enumerate(cells, start=header_row + 1):
        texts = [cell_text(v) for v in values]
        texts += [""] * (width + 1 - len(texts))
        if written is not None:
            as_written = next(written, ())
            blank = [pos for pos, (value, formula) in enumerate(zip(values, as_written,
                                                                     strict=False))
                     if pos < width and value is None and _is_formula(formula)]
            if blank:
                uncomputed[row_number] = [(pos, f"{get_column_letter(pos + 1)}{row_number}")
                                          for pos in blank]
        if not any(t.strip() for t in texts) and row_number not in uncomputed:
            continue
        if texts[width].strip():
            raise FileRejected(
                "extra_field",
                f"{name}: row {row_number} (sheet {redact(ws.title)!r}) has a value in column "
                f"{width + 1}, right of the last of the header's {width} columns",
                row=row_number,
                action="Give every column of the sheet a header (or remove the stray values) and "
                "deliver the workbook again.",
            )
        numbers.append(row_number)
        rows.append(texts[:width])
    body = pd.DataFrame(rows, index=pd.Index(numbers, dtype="int64"), columns=range(width),
                        dtype=object)
    return Workbook(header, body, uncomputed)


def _is_formula(value) -> bool:
    """A cell as written (data_only=False): a formula is text starting with "=" or an
    ArrayFormula/DataTableFormula object."""
    if isinstance(value, str):
        return value.startswith("=")
    return value is not None and type(value).__name__ in ("ArrayFormula", "DataTableFormula")
