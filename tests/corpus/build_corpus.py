"""Writes the ingestion corpus: one or more export files for each of DOMAIN.md's problems.

The files are committed; this script documents how each was made and rebuilds them
(`.venv/bin/python tests/corpus/build_corpus.py`; byte for byte except the workbooks, which
carry the time they were written). `tests/integration/test_ingest_corpus.py` says what each must
end as.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.personnummer import luhn_check_digit

HERE = Path(__file__).parent
OUT = HERE / "files"
ROOT = HERE.parents[1]
UNIT_A, UNIT_B = "SE2321000137-P107", "SE2321000174-P114"
UNKNOWN_UNIT = "SE2321000999-P999"
HEADER = ["personnummer", "enhetskod", "dodsdatum", "registreringsdatum", "vantat_dodsfall",
          "brytpunktssamtal", "smartskattning", "munhalsa", "vid_behov_opioid", "vid_behov_angest",
          "trycksar_grad", "kommentar"]


def pnr(born: date, serial: int, sep: str = "") -> str:
    digits = born.strftime("%Y%m%d") + f"{serial:03d}"
    return digits[:8] + sep + digits[8:] + str(luhn_check_digit(digits[2:11]))


def row(person: str, died: date, comment: str = "", unit: str = UNIT_A,
        registered: date | None = None) -> list[str]:
    reg = registered or died + timedelta(days=10)
    return [person, unit, died.isoformat(), reg.isoformat(), "1", "1", "2", "1", "1", "2", "0", comment]


def fillers(year: int, month: int, n: int, series: int) -> list[list[str]]:
    """n ordinary registrations of distinct persons who died in that month."""
    out = []
    for i in range(n):
        born = date(1930 + i % 40, 1 + i % 12, 1 + i % 28)
        died = date(year, month, 1 + i % 28)
        out.append(row(pnr(born, series * 10 + i % 10 + 100 * (i // 40) % 900), died,
                       unit=UNIT_A if i % 2 else UNIT_B))
    return out


def write(name: str, rows: list[list[str]], *, encoding: str = "cp1252", header=HEADER,
          newline: str = "\r\n", registry: str = "palliativ") -> Path:
    path = OUT / registry / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [";".join(header)] + [";".join(_quote(v) for v in r) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def _quote(v: str) -> str:
    if any(ch in v for ch in ';"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def build() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    # 1. Windows-1252 next to UTF-8 (the contract says cp1252; both decode unambiguously)
    write("palliativ_dodsfall_2023-01.csv",
          [row(pnr(date(1941, 3, 3), 11), date(2023, 1, 5), "Avled på Södersjukhuset, lugnt")]
          + fillers(2023, 1, 40, 1))
    write("palliativ_dodsfall_2023-02.csv",
          [row(pnr(date(1942, 4, 4), 12), date(2023, 2, 6), "Flyttad från Ängelholms sjukhus")]
          + fillers(2023, 2, 40, 2), encoding="utf-8")
    # 2. UTF-8 with a byte-order mark
    write("palliativ_dodsfall_2023-03.csv", fillers(2023, 3, 40, 3), encoding="utf-8-sig")
    # 4. four date forms for the same day
    day = date(2023, 4, 5)
    serial = str((day - date(1899, 12, 30)).days)
    dated = [row(pnr(date(1950, 1, 1 + i), 20 + i), day) for i in range(4)]
    for r, form in zip(dated, ["2023-04-05", "20230405", "2023-04-05 00:00:00", serial], strict=True):
        r[2] = form
    write("palliativ_dodsfall_2023-04.csv", dated + fillers(2023, 4, 40, 4))
    # 5. personnummer in every form; three that cannot be used
    forms = [
        pnr(date(1944, 5, 6), 31),                      # 12 digits
        pnr(date(1944, 5, 7), 32, "-"),                 # 12 digits with separator
        pnr(date(1944, 5, 8), 33, "-")[2:],             # 10 digits with -
        pnr(date(1920, 5, 9), 34, "-")[2:].replace("-", "+"),  # 10 digits, 100 or older
        pnr(date(1944, 5, 70 - 60), 35)[:6] + str(int(pnr(date(1944, 5, 10), 35)[6:8]) + 60)
        + pnr(date(1944, 5, 10), 35)[8:],              # samordningsnummer: day + 60 (check fixed below)
        "19440511-RA12",                                # reserve number: kept and flagged
        pnr(date(1944, 5, 12), 36)[:-1] + str((int(pnr(date(1944, 5, 12), 36)[-1]) + 1) % 10),
        "1.99001E+11",                                  # Excel turned it into a number
        pnr(date(2001, 1, 1), 37)[3:],                  # 10 digits that lost their leading zero
    ]
    born = forms[4][:8]
    forms[4] = born + forms[4][8:11] + str(luhn_check_digit((born + forms[4][8:11])[2:11]))
    write("palliativ_dodsfall_2023-05.csv",
          [row(p, date(2023, 5, 10 + i)) for i, p in enumerate(forms)] + fillers(2023, 5, 100, 5))
    # 6. headers renamed (aliases), reordered, another case, one column added
    h = ["PNR", "Enhet", "REGISTRERINGSDATUM", "Dödsdatum", "Avdelning", *[c.upper() for c in HEADER[4:]]]
    rows6 = [[r[0], r[1], r[3], r[2], "avd 3", *r[4:]] for r in fillers(2023, 6, 40, 6)]
    write("palliativ_dodsfall_2023-06.csv", rows6, header=h)
    # 7. a required column missing (enhetskod)
    write("palliativ_dodsfall_2023-07.csv", [r[:1] + r[2:] for r in fillers(2023, 7, 10, 7)],
          header=HEADER[:1] + HEADER[2:])
    # 8. zero bytes; a header only; cut off in the middle of a row
    (OUT / "palliativ" / "palliativ_dodsfall_2023-08.csv").write_bytes(b"")
    write("palliativ_dodsfall_2023-09.csv", [])
    cut = write("palliativ_dodsfall_2023-10.csv", fillers(2023, 10, 30, 8))
    data = cut.read_bytes()
    cut.write_bytes(data[: data.rstrip(b"\r\n").rfind(b";2023-10") + 5])
    # 9. the same file delivered twice (another name); a corrected file for a loaded period
    first = write("palliativ_dodsfall_2023-11.csv", fillers(2023, 11, 30, 9))
    shutil.copyfile(first, OUT / "palliativ" / "palliativ_dodsfall_2023-12.csv")
    original = fillers(2024, 1, 30, 10)
    write("palliativ_dodsfall_2024-01.csv", original)
    corrected = [r[:] for r in original[:-1]]  # one registration withdrawn ...
    corrected[0][6] = "1"                      # ... and one answer corrected
    write("palliativ_dodsfall_2024-01.csv", corrected, registry="corrections/palliativ")
    # 10. a unit code the reference data does not know
    write("palliativ_dodsfall_2024-02.csv",
          [row(pnr(date(1945, 2, 2), 41), date(2024, 2, 2), unit=UNKNOWN_UNIT)]
          + fillers(2024, 2, 40, 11))
    # 11. a date in the future, a death before birth, a registration before the death
    write("palliativ_dodsfall_2024-03.csv", [
        row(pnr(date(1946, 3, 3), 42), date(2030, 1, 1)),
        row(pnr(date(1950, 5, 5), 43), date(1949, 1, 1)),
        row(pnr(date(1947, 3, 4), 44), date(2024, 3, 20), registered=date(2024, 3, 1)),
    ] + fillers(2024, 3, 100, 12))
    # 12. delimiters, quotes and line breaks in quoted free text; CRLF and LF mixed
    texts = ['Sa: "vill hem"; familjen informerad', "rad ett\nrad två", "a;b;c\r\nslut"]
    rows12 = [row(pnr(date(1948, 4, 4 + i), 45 + i), date(2024, 4, 4), t) for i, t in enumerate(texts)]
    records = [";".join(HEADER)] + [";".join(_quote(v) for v in r) for r in rows12 + fillers(2024, 4, 40, 13)]
    (OUT / "palliativ" / "palliativ_dodsfall_2024-04.csv").write_bytes(
        "".join(rec + ("\n" if i % 2 else "\r\n") for i, rec in enumerate(records)).encode("cp1252"))
    # 13. missing-value markers
    markers = ["NULL", "NA", "-", "", "\u00a0", "Uppgift saknas"]
    rows13 = [row(pnr(date(1949, 5, 5 + i), 51 + i), date(2024, 5, 5), m) for i, m in enumerate(markers)]
    rows13[0][4] = "9"  # an unknown code stays as delivered; completeness counts it as missing
    write("palliativ_dodsfall_2024-05.csv", rows13 + fillers(2024, 5, 40, 14))
    # 14. formula text in free text
    formulas = ['=HYPERLINK("http://example.invalid","klicka")', "+46 8 123 45", "-2+3", "@SUM(A1:A9)"]
    write("palliativ_dodsfall_2024-06.csv",
          [row(pnr(date(1950, 6, 6 + i), 61 + i), date(2024, 6, 6), f) for i, f in enumerate(formulas)]
          + fillers(2024, 6, 40, 15))
    # 15. the same registration twice in a file, and once more from an earlier file (2023-01)
    twice = row(pnr(date(1951, 7, 7), 71), date(2024, 7, 7))
    again = row(pnr(date(1941, 3, 3), 11), date(2023, 1, 5), "Avled på Södersjukhuset, lugnt")
    write("palliativ_dodsfall_2024-07.csv", [twice, twice[:], again] + fillers(2024, 7, 100, 16))
    # an Excel workbook: real dates and personnummer typed as numbers
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in fillers(2024, 8, 20, 17):
        ws.append([int(r[0]), r[1], date.fromisoformat(r[2]), date.fromisoformat(r[3]),
                   *[int(v) for v in r[4:11]], None])
    (OUT / "palliativ").mkdir(parents=True, exist_ok=True)
    wb.save(OUT / "palliativ" / "palliativ_dodsfall_2024-08.xlsx")
    # too many bad rows: the whole file waits (and can be released with --accept)
    bad = fillers(2024, 9, 20, 18)
    for r in bad[:5]:
        r[1] = UNKNOWN_UNIT
    write("palliativ_dodsfall_2024-09.csv", bad)
    # a file name that matches none of the registry's patterns
    write("palliativ_export_final_v2.csv", fillers(2024, 10, 5, 19))
    # opt-out: two persons of the 2023-01 file leave the registry (delivered on the second night)
    optouts = [fillers(2023, 1, 40, 1)[0][0], fillers(2023, 1, 40, 1)[1][0]]
    path = OUT / "optouts" / "palliativ" / "palliativ_optout_2024-11-01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("personnummer\n" + "\n".join(optouts) + "\n", encoding="utf-8")
    odd_exports()
    outside_review_exports()
    # 3. decimal commas with ';' (njur) and a tab-separated export (blodcancer), as the registries write
    contracts = load_contracts(ROOT / "registries")
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), {k: contracts[k] for k in ("njur", "blodcancer")},
                 ROOT / "dbt_project/seeds/units.csv", scale=0.1, months=2, seed=3)
        for name in ("njur/njur_start_", "blodcancer/blodcancer_diagnos_"):
            src = sorted(Path(tmp).glob(name + "*"))[-1]
            dest = OUT / src.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


# Skatteverket's test personnummer: födelsenummer 980-999 are never given to a real person, and
# 19121212-1212 is its own textbook example. Used wherever a personnummer must look real.
def fake_pnr(born: date, serial: int) -> str:
    assert 980 <= serial <= 999
    return pnr(born, serial)


def odd_exports() -> None:
    """Odd exports that the robustness tests generate, kept as files (issue 17/18): what each ends
    as is asserted in test_ingest_corpus.py (ODD_EXPORTS)."""
    folder = OUT / "palliativ"
    # a "Unicode text" export: UTF-16 LE with its byte-order mark (the agreed ';' kept)
    write("palliativ_dodsfall_2025-01.csv",
          [row(fake_pnr(date(1938, 1, 8), 980), date(2025, 1, 9), "Önskade dö hemma, på Åsa")]
          + fillers(2025, 1, 30, 20), encoding="utf-16")
    # an .xlsx written by a tool that does not compute formulas: one row's cells are formulas
    # saved without their values (the row is rejected; the others load)
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i, r in enumerate(fillers(2025, 2, 30, 21)):
        cells = [int(r[0]), r[1], date.fromisoformat(r[2]), date.fromisoformat(r[3]),
                 *[int(v) for v in r[4:11]], None]
        if i == 4:
            cells[4] = "=1+0"              # vantat_dodsfall of row 6: cell E6
            cells[6] = "=E6+1"             # smartskattning: G6
        ws.append(cells)
    wb.save(folder / "palliativ_dodsfall_2025-02.xlsx")
    # ... and one whose every value is such a formula: nothing in it can be read
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in fillers(2025, 3, 10, 22):
        ws.append([f'="{v}"' for v in r[:11]] + [None])
    wb.save(folder / "palliativ_dodsfall_2025-03.xlsx")
    # gzip bytes under a .csv name (the palliativ contract allows no compression)
    plain = write("palliativ_dodsfall_2025-04.csv", fillers(2025, 4, 20, 23))
    plain.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    # a personnummer in the free-text column, written as people write it (the row loads, the
    # value is blanked)
    write("palliativ_dodsfall_2025-05.csv",
          [row(fake_pnr(date(1939, 5, 5), 982), date(2025, 5, 6),
               f"Anhörig {fake_pnr(date(1961, 6, 6), 986)[2:8]}-"
               f"{fake_pnr(date(1961, 6, 6), 986)[8:]} informerad"),
           row(fake_pnr(date(1939, 5, 7), 984), date(2025, 5, 8), "Ring 19121212-1212")]
          + fillers(2025, 5, 30, 24))
    # an opt-out list without its header line (second night): two persons of the 2023-02 file and
    # one the registry never registered
    persons = [fillers(2023, 2, 40, 2)[0][0], fillers(2023, 2, 40, 2)[1][0],
               fake_pnr(date(1950, 10, 10), 990)]
    path = OUT / "optouts" / "palliativ" / "palliativ_optout_2024-11-02.csv"
    path.write_bytes(("\r\n".join(persons) + "\r\n").encode("utf-8"))



def outside_review_exports() -> None:
    """Hand-written exports of the outside review (items 1-5): what each ends as is asserted in
    test_ingest_corpus.py. Rebuild only these with
    `python -c 'import build_corpus as b; b.outside_review_exports()'` from tests/corpus."""
    # 1. a DOS (cp850) export on the cp1252 contract: read as cp850, with a note
    centenarian = fake_pnr(date(1925, 2, 22), 988)
    write("palliativ_dodsfall_2025-06.csv",
          [row(fake_pnr(date(1940, 6, 1), 981), date(2025, 6, 2), "smärta, ångest, övrigt"),
           row(centenarian, date(2025, 6, 3))]
          + fillers(2025, 6, 20, 25), encoding="cp850")
    # 4. (second night) that centenarian on an opt-out list written with - instead of +: read as
    # born 2025 it matches nobody; not removed by guess, the list's notice names the row
    path = OUT / "optouts" / "palliativ" / "palliativ_optout_2024-11-03.csv"
    path.write_bytes(f"personnummer\r\n{centenarian[2:8]}-{centenarian[8:]}\r\n".encode())
    # 2. three empty lines after the header; data record 6 (line 10) has an impossible date
    rows = fillers(2025, 7, 30, 26)
    rows[5][2] = "2025-07-45"
    path = write("palliativ_dodsfall_2025-07.csv", rows)
    header, rest = path.read_bytes().split(b"\r\n", 1)
    path.write_bytes(header + b"\r\n" * 4 + rest)
    # 3. personnummer in free text with a wrong check digit and with spaces around the dash
    spaced = fake_pnr(date(1947, 3, 12), 983)
    wrong = fake_pnr(date(1948, 4, 13), 985)
    wrong = wrong[:-1] + str((int(wrong[-1]) + 1) % 10)
    write("palliativ_dodsfall_2025-08.csv",
          [row(fake_pnr(date(1941, 8, 1), 987), date(2025, 8, 2), f"Make {wrong} informerad"),
           row(fake_pnr(date(1941, 8, 3), 989), date(2025, 8, 4),
               f"dotter {spaced[2:8]} - {spaced[8:]}")]
          + fillers(2025, 8, 20, 27))
    # 5a. a title line and an empty line above the header
    path = write("palliativ_dodsfall_2025-09.csv", fillers(2025, 9, 20, 28))
    path.write_bytes("Export från Palliativregistret 2025-10-01\r\n\r\n".encode("cp1252")
                     + path.read_bytes())
    # 5b. the header line left out
    path = write("palliativ_dodsfall_2025-10.csv", fillers(2025, 10, 20, 29))
    path.write_bytes(path.read_bytes().split(b"\r\n", 1)[1])


if __name__ == "__main__":
    build()
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files under {OUT}")
