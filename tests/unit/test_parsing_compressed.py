"""Compressed deliveries, recognised by their bytes whatever their name: refused unless the contract
allows them, then opened with a limit on what they may unpack to."""

import bz2
import gzip
import io
import lzma
import tracemalloc
import zipfile

import pytest
import yaml
from test_parsing import HEADER, PALL, TODAY, UNITS, pnr, row

from regbench import file_sniffing
from regbench.config import REPO_ROOT
from regbench.contracts import Contract
from regbench.parsing import FileRejected, parse_file
from regbench.pseudonym import Pseudonymiser

NAME = "palliativ_dodsfall_2024-03.csv"
CSV = ("\r\n".join([HEADER, row(pnr("19400101"), extra="Avled på Södersjukhuset"),
                    row(pnr("19400102"))]) + "\r\n").encode("cp1252")


def allowing(compression: str) -> Contract:
    data = yaml.safe_load((REPO_ROOT / "registries" / "palliativ.yaml").read_text(encoding="utf-8"))
    data["format"]["compression"] = compression
    return Contract.model_validate(data)


def load(tmp_path, data: bytes, contract: Contract = PALL, name: str = NAME):
    path = tmp_path / name
    path.write_bytes(data)
    return parse_file(path, contract, contract.entity("dodsfall"),
                      pseudonymiser=Pseudonymiser(b"k" * 32), known_units=UNITS, today=TODAY)


def zipped(*members: tuple[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, content in members:
            zf.writestr(member, content)
    return buf.getvalue()


SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24


@pytest.mark.parametrize(("data", "kind"), [
    (gzip.compress(CSV), "gzip"), (zipped((NAME, CSV)), "zip"), (bz2.compress(CSV), "bzip2"),
    (lzma.compress(CSV), "xz"), (SEVEN_ZIP, "7z"),
])
def test_a_compressed_file_named_csv_is_refused_with_advice(tmp_path, data, kind):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, data)
    assert err.value.rule == "compressed_file"
    assert kind in err.value.message and NAME in err.value.message
    assert "uncompressed CSV" in err.value.action and "contract" in err.value.action


def test_a_contract_allowing_gzip_loads_a_gzip_delivery(tmp_path):
    parsed = load(tmp_path, gzip.compress(CSV), allowing("gzip"))
    assert parsed.rows_total == 2 and not parsed.rejects
    assert parsed.frame.loc[2, "kommentar"] == "Avled på Södersjukhuset"


def test_a_contract_allowing_zip_loads_a_zip_with_one_member(tmp_path):
    parsed = load(tmp_path, zipped(("export/" + NAME, CSV)), allowing("zip"))
    assert parsed.rows_total == 2 and not parsed.rejects


def test_a_zip_with_two_members_is_refused(tmp_path):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, zipped((NAME, CSV), ("readme.txt", b"x")), allowing("zip"))
    assert err.value.rule == "zip_members"
    assert "2 files" in err.value.message


def test_a_compression_other_than_the_allowed_one_is_refused(tmp_path):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, zipped((NAME, CSV)), allowing("gzip"))
    assert err.value.rule == "compressed_file"
    assert "zip" in err.value.message and "gzip" in err.value.message


@pytest.mark.parametrize("data", [gzip.compress(CSV)[:-9], b"\x1f\x8b" + b"garbage" * 10])
def test_a_damaged_gzip_is_refused(tmp_path, data):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, data, allowing("gzip"))
    assert err.value.rule == "corrupt_archive" and "gzip" in err.value.message


def test_a_gzip_inside_a_gzip_is_refused(tmp_path):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, gzip.compress(gzip.compress(CSV)), allowing("gzip"))
    assert err.value.rule == "compressed_file"


def test_a_decompression_bomb_is_refused_without_unpacking_it_into_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(file_sniffing, "MAX_DECOMPRESSED_BYTES", 8 * 2**20)
    bomb = gzip.compress(CSV + b"\n" * (200 * 2**20), compresslevel=1)
    assert len(bomb) < 2 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(FileRejected) as err:
            load(tmp_path, bomb, allowing("gzip"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.rule == "decompressed_too_large"
    assert "8 MB" in err.value.message
    assert peak < 40 * 2**20


def test_a_zip_whose_member_claims_more_than_the_limit_is_refused_before_reading(tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setattr(file_sniffing, "MAX_DECOMPRESSED_BYTES", 2**20)
    with pytest.raises(FileRejected) as err:
        load(tmp_path, zipped((NAME, CSV + b"\n" * 2**21)), allowing("zip"))
    assert err.value.rule == "decompressed_too_large"


def test_an_excel_workbook_named_csv_is_named_so(tmp_path):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, zipped(("[Content_Types].xml", b"<x/>"), ("xl/workbook.xml", b"<x/>")))
    assert err.value.rule == "compressed_file"
    assert "Excel" in err.value.message


# --- outside review, item 5c: a compressed file named .csv.gz -----------------------------------

def test_a_csv_gz_name_is_called_compressed_and_says_how_the_contract_can_accept_it():
    from test_parsing import PALL

    from regbench.file_sniffing import compressed_name
    message, action = compressed_name("palliativ_dodsfall_2024-03.csv.gz", PALL)
    assert "gzip-compressed" in message and "palliativ_dodsfall_2024-03.csv" in message
    assert "format.compression" in message + action
    assert "palliativ_dodsfall_2024-03.csv" in action
    assert compressed_name("palliativ_dodsfall_2024-03.csv", PALL) is None
    assert compressed_name("annat_2024-03.csv.gz", PALL) is None
