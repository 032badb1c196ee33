"""Whatever bytes arrive, parsing ends in typed rows or a whole-file rejection that names the file;
never another exception (which would stop the night's ingest with a traceback instead of a reason).

Inputs: arbitrary bytes, and real exports from the corpus damaged the ways transfers and
spreadsheets damage them."""

import gzip
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parsing import TODAY, UNITS

from regbench.config import REPO_ROOT
from regbench.contracts import Contract
from regbench.parsing import FileRejected, ParsedFile, parse_file
from regbench.pseudonym import Pseudonymiser

CORPUS = Path(__file__).parents[1] / "corpus" / "files" / "palliativ"
EXPORTS = [(CORPUS / name).read_bytes() for name in (
    "palliativ_dodsfall_2023-01.csv",   # Windows-1252, CRLF
    "palliativ_dodsfall_2023-03.csv",   # UTF-8 with a byte-order mark
    "palliativ_dodsfall_2024-04.csv",   # quoted delimiters and line breaks
)]
WORKBOOK = (CORPUS / "palliativ_dodsfall_2024-08.xlsx").read_bytes()
_DATA = yaml.safe_load((REPO_ROOT / "registries" / "palliativ.yaml").read_text(encoding="utf-8"))
_DATA["format"]["compression"] = "gzip"
PALL_GZIP = Contract.model_validate(_DATA)
PSEUDONYMISER = Pseudonymiser(b"k" * 32)
# derandomized and without an example database: the same examples on every run and machine
# REGBENCH_PARSING_HUNT=20 looks 20 times further, with new random examples each run
HUNT = int(os.environ.get("REGBENCH_PARSING_HUNT", "1"))


def examples(n: int) -> settings:
    return settings(max_examples=n * HUNT, deadline=None, derandomize=HUNT == 1, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes, name: str = "palliativ_dodsfall_2024-03.csv", contract=PALL_GZIP,
            *, known_damage: bool = True):
    """ParsedFile or FileRejected; anything else propagates and fails the test. With known_damage,
    a rejection must come from a rule that understood the damage, not parse_file's safety net."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            parsed = parse_file(path, contract, contract.entity("dodsfall"),
                                pseudonymiser=PSEUDONYMISER, known_units=UNITS, today=TODAY)
        except FileRejected as exc:
            assert exc.rule and isinstance(exc.rule, str)
            assert name in exc.message and exc.action, exc.rule
            assert "\x00" not in exc.message
            assert not (known_damage and exc.rule == "unreadable_file"), exc.message
            return exc
    assert isinstance(parsed, ParsedFile)
    assert parsed.rejected_rows <= set(parsed.frame.index)
    return parsed


# --- damage ---------------------------------------------------------------------------------------

@st.composite
def truncated(draw, data: bytes) -> bytes:
    return data[:draw(st.integers(0, len(data)))]


@st.composite
def flipped(draw, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


@st.composite
def inserted(draw, data: bytes, pieces) -> bytes:
    out = data
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(out)))
        out = out[:at] + draw(pieces) + out[at:]
    return out


@st.composite
def reencoded(draw, data: bytes) -> bytes:
    source = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "cp1252"
    text = data.decode(source, errors="replace")
    codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "utf-8",
                                  "utf-8-sig", "latin-1"]))
    return text.encode(codec, errors="replace")


@st.composite
def duplicated_lines(draw, data: bytes) -> bytes:
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(draw(st.integers(0, len(lines))), lines[i])
    return b"\n".join(lines)


def damaged(data: bytes):
    one = st.one_of(
        truncated(data), flipped(data), reencoded(data), duplicated_lines(data),
        inserted(data, st.just(b"\x00")),
        inserted(data, st.sampled_from([b";", b";;", b",", b"\t", b'"', b"\r", b"\n", b"\r\n"])),
    )
    return one


@st.composite
def damaged_export(draw) -> bytes:
    data = draw(st.sampled_from(EXPORTS))
    for _ in range(draw(st.integers(1, 3))):
        data = draw(damaged(data)) or data
    return data


# --- generated exports: every column's awkward values ----------------------------------------

COLUMNS = [c.name for c in PALL_GZIP.entity("dodsfall").columns]
OTHER_HEADERS = ["PNR", "Personnr", "enhet", "HSAID", "dödsdatum", "Kommentar", "KOMMENTAR", "extra",
                 "", "personnummer"]
CELLS = st.one_of(
    st.sampled_from([
        "", " ", "NULL", "NA", "-", "\u00a0", "Uppgift saknas", "9", "1", "2", "0", "True", "x",
        "194001011238", "19400101-1238", "400101-1238", "400101+1238", "19400101-AB12", "1.94E+11",
        "SE2321000137-P107", "SE2321000174-P114", "SE9999999999-X1",
        "2024-03-05", "20240305", "2024-03-05 14:30", "2024-03-05T14:30:59.5", "45356", "45356.5",
        "2024-02-30", "0001-01-01", "9999-12-31", "2024111", "99999999999999999999",
        "1 234,5", "23,", ",5", "1e400", "-0", "inf", "nan", "=HYPERLINK(\"x\")", "a;b", 'sa "ja"',
        "rad\nny", "\r\n", "\ufeff",
    ]),
    st.text(st.characters(exclude_characters="\x00"), max_size=12),
)


@st.composite
def generated_export(draw) -> bytes:
    import csv
    import io

    extra = draw(st.lists(st.sampled_from(OTHER_HEADERS), max_size=2)) if draw(st.booleans()) else []
    header = draw(st.permutations(COLUMNS + extra))
    if draw(st.integers(0, 9)) == 9:
        header = header[:draw(st.integers(1, len(header)))]
    width = len(header) + (draw(st.integers(0, 19)) == 19)
    rows = draw(st.lists(st.lists(CELLS, min_size=len(header), max_size=width), max_size=8))
    delimiter = draw(st.sampled_from([";"] * 6 + [",", "\t"]))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
                        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    codec = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(codec, errors="replace")


# --- properties -----------------------------------------------------------------------------------

@examples(1000)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_load_or_are_rejected(data):
    outcome(data)


@examples(300)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_named_xlsx_load_or_are_rejected(data):
    outcome(data, name="palliativ_dodsfall_2024-08.xlsx")


@examples(400)
@given(damaged_export())
def test_a_damaged_export_loads_or_is_rejected(data):
    outcome(data)


@examples(200)
@given(generated_export())
def test_a_generated_export_with_awkward_values_loads_or_is_rejected(data):
    outcome(data)


@examples(150)
@given(damaged_export(), st.booleans())
def test_a_damaged_export_in_a_gzip_loads_or_is_rejected(data, cut):
    packed = gzip.compress(data)
    outcome(packed[: len(packed) // 2] if cut else packed)


@examples(200)
@given(st.one_of(truncated(WORKBOOK), flipped(WORKBOOK)))
def test_a_damaged_workbook_loads_or_is_rejected(data):
    outcome(data, name="palliativ_dodsfall_2024-08.xlsx")


def test_the_undamaged_exports_load():
    for data in EXPORTS:
        assert isinstance(outcome(data), ParsedFile)
    assert isinstance(outcome(WORKBOOK, name="palliativ_dodsfall_2024-08.xlsx"), ParsedFile)


def test_an_unexpected_failure_inside_parsing_is_a_rejection_naming_the_step_not_the_data(
        monkeypatch):
    import regbench.parsing

    def broken(*args, **kwargs):
        raise ValueError("could not convert '194001011238'")

    monkeypatch.setattr(regbench.parsing, "parse_dates", broken)
    exc = outcome(EXPORTS[0], known_damage=False)
    assert isinstance(exc, FileRejected) and exc.rule == "unreadable_file"
    assert "reading column dodsdatum" in exc.message and "ValueError" in exc.message
    assert "194001011238" not in exc.message
