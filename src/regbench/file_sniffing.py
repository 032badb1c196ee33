"""What a delivered file's bytes are, before they are read as a table: its text encoding.

Each function either returns what it found or raises FileRejected naming the file, the line and what
to do; a message never quotes the file's bytes (they may hold a personnummer).
"""

from __future__ import annotations

import re

from regbench.parse_errors import FileRejected

_UTF8_BOM = b"\xef\xbb\xbf"
# longest first: the UTF-32 little-endian mark begins with the UTF-16 one
_UNICODE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 little-endian"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 big-endian"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 little-endian"),
    (b"\xfe\xff", "utf-16-be", "UTF-16 big-endian"),
)
# how many leading bytes are looked at to recognise UTF-16/32 text without a byte-order mark
_SNIFF_BYTES = 4096
# a valid UTF-8 multi-byte sequence; Windows-1252 text almost never holds one (an "Ã" followed by
# a punctuation byte), so finding one next to bytes that are not UTF-8 means two encodings
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")

ONE_ENCODING = ("Export the whole file again in one encoding (UTF-8 preferred, or Windows-1252) and "
                "deliver it again.")


def line_of(data: bytes, offset: int) -> int:
    """The 1-based physical line holding byte `offset`."""
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, name: str, delimiter: str | None = None) -> tuple[str, str]:
    """(text, encoding) of a delimited-text export: UTF-8 (with or without a byte-order mark),
    UTF-16 or UTF-32 with a byte-order mark, or Windows-1252 / Latin-1 when the bytes are not UTF-8
    at all. Refused: bytes that are UTF-8 in one line and something else in another (any single
    choice garbles one of them), UTF-16/32 without a byte-order mark, and NUL bytes.

    Text that is not UTF-8 is not trusted to be Windows-1252 because the contract says so: a DOS
    (cp850) or Mac (MacRoman) export reads as Windows-1252 without an error but garbled
    (`sm„rta`, `smŠrta`). Decided (outside review): such text is read as cp850 or MacRoman when
    exactly one of them gives plausible Swedish with more å, ä, ö (the encoding returned says
    which, and the parser notes it in the ledger), and refused as `encoding_unclear`, naming the
    first implausible value's row and (with `delimiter`) column, when none does; see
    _dos_or_mac."""
    for bom, codec, label in _UNICODE_BOMS:
        if data.startswith(bom):
            return _unicode_with_bom(data[len(bom):], name, codec, label), codec
    _reject_nul_bytes(data, name)
    if data.startswith(_UTF8_BOM):
        return _utf8(data[len(_UTF8_BOM):], name, "utf-8-sig", delimiter)
    return _utf8(data, name, "utf-8", delimiter)


def _unicode_with_bom(body: bytes, name: str, codec: str, label: str) -> str:
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        line = body[:exc.start - exc.start % (4 if "32" in codec else 2)].decode(
            codec, errors="replace").count("\n") + 1
        raise FileRejected(
            "encoding_invalid",
            f"{name}: the file starts with the byte-order mark of {label} but line {line} is not "
            f"valid {label}",
            row=line, action=ONE_ENCODING,
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise FileRejected(
            "nul_bytes",
            f"{name}: line {line} holds a NUL character, which no text export contains; the file "
            "may have been damaged in transfer",
            row=line, action="Export the file again as text and deliver it again.",
        )
    return text


def _reject_nul_bytes(data: bytes, name: str) -> None:
    """UTF-16/32 text without a byte-order mark (every other byte NUL) or stray NUL bytes."""
    first = data.find(b"\x00")
    if first < 0:
        return
    likely = _likely_wide_encoding(data[:_SNIFF_BYTES])
    if likely is not None:
        rule, label = likely
        raise FileRejected(
            rule,
            f"{name}: the file looks like {label} text without a byte-order mark (most of its "
            "bytes are NUL); it cannot be read reliably without knowing the encoding",
            row=None,
            action="Export the file again as UTF-8 (or as Unicode text with a byte-order mark) "
            "and deliver it again.",
        )
    line = line_of(data, first)
    raise FileRejected(
        "nul_bytes",
        f"{name}: line {line} holds a NUL byte, which no text export contains; the file may have "
        "been damaged in transfer or not be a text file",
        row=line, action="Export the file again as text (CSV) and deliver it again.",
    )


def _likely_wide_encoding(sample: bytes) -> tuple[str, str] | None:
    """(rule, label) when the NUL bytes of `sample` sit where UTF-32 or UTF-16 text puts them."""

    def nul_share(start: int, step: int) -> float:
        part = sample[start::step]
        return part.count(0) / len(part) if part else 0.0

    if len(sample) >= 8:
        by4 = [nul_share(i, 4) for i in range(4)]
        if min(by4[1:]) > 0.9 and by4[0] < 0.1:
            return "utf32_without_bom", "UTF-32 little-endian"
        if min(by4[:3]) > 0.9 and by4[3] < 0.1:
            return "utf32_without_bom", "UTF-32 big-endian"
    even, odd = nul_share(0, 2), nul_share(1, 2)
    if odd > 0.6 and even < 0.1:
        return "utf16_without_bom", "UTF-16 little-endian"
    if even > 0.6 and odd < 0.1:
        return "utf16_without_bom", "UTF-16 big-endian"
    return None


def _utf8(data: bytes, name: str, encoding: str, delimiter: str | None = None
          ) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), encoding
    except UnicodeDecodeError as exc:
        bad = exc
    bad_line = line_of(data, bad.start)
    if bad.reason == "unexpected end of data" and bad.start >= len(data) - 3:
        raise FileRejected(
            "truncated_file",
            f"{name}: the file ends in the middle of a character on line {bad_line}; it was "
            "probably cut off in transfer",
            row=bad_line,
            action="Deliver the complete export again; the earlier rows are not loaded on their own.",
        )
    good_line = _first_utf8_line(data)
    if encoding == "utf-8-sig" or good_line is not None:
        why = ("it starts with a UTF-8 byte-order mark" if good_line is None
               else f"line {good_line} is UTF-8")
        raise FileRejected(
            "mixed_encoding",
            f"{name}: line {bad_line} is not UTF-8 (it looks like Windows-1252) but {why}: the file "
            "mixes two encodings, and reading it either way would garble letters such as å, ä, ö "
            "in some rows",
            row=bad_line, action=ONE_ENCODING,
        )
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # bytes undefined in cp1252 (0x81, 0x8d, ...): latin-1 maps every byte
        text, encoding = data.decode("latin-1"), "latin-1"
    return _dos_or_mac(data, text, encoding, name, delimiter)


# Read as Windows-1252, a DOS (cp850) export writes ä å ö as „ † ” and a Mac (MacRoman) one as
# Š Œ š: a control character (bytes 0x80-0x9f read as Latin-1, a box-drawing character), or a
# symbol that is no letter between two letters, is implausible in Swedish text; so are the letters
# Š Œ š Ž (rare in Swedish, names aside) when another reading gives å ä ö instead. Dashes and
# the typographic apostrophe do stand between letters.
_LETTER = "[A-Za-zÀ-ÖØ-öø-ÿ]"
_IMPLAUSIBLE = re.compile(
    rf"[\x80-\x9f\u2500-\u259f]|(?<={_LETTER})[^\x00-\x7f\w’‐‑–—·×](?={_LETTER})")
_RARE_LETTERS = re.compile("[ŠšŒœŽžŸƒ]")
_SWEDISH_LETTERS = re.compile("[åäöÅÄÖ]")
# the other single-byte encodings a Swedish export is written in, and how a person names them
OTHER_SINGLE_BYTE = {"cp850": "DOS (cp850)", "mac_roman": "Mac OS Roman"}


def _dos_or_mac(data: bytes, text: str, encoding: str, name: str,
                delimiter: str | None) -> tuple[str, str]:
    """A single-byte file read as Windows-1252 whose text is implausible as Swedish: read as cp850
    or MacRoman if exactly one of them gives plausible text with more å, ä, ö; otherwise refused
    as encoding_unclear naming the first implausible value's line and column. A file read as
    Windows-1252 without either sign (nearly all) is returned as it is, without decoding again."""
    odd = _IMPLAUSIBLE.search(text)
    if odd is None and _RARE_LETTERS.search(text) is None:
        return text, encoding
    swedish = len(_SWEDISH_LETTERS.findall(text))
    plausible = []
    for codec in OTHER_SINGLE_BYTE:
        other = data.decode(codec)
        found = len(_SWEDISH_LETTERS.findall(other))
        if found > swedish and _IMPLAUSIBLE.search(other) is None:
            plausible.append((found, codec, other))
    plausible.sort(reverse=True)
    if plausible and (len(plausible) == 1 or plausible[0][0] > plausible[1][0]):
        _, codec, other = plausible[0]
        return other, codec
    if odd is None:  # only rare letters (a name such as Dušan) and no better reading
        return text, encoding
    line = text.count("\n", 0, odd.start()) + 1
    column = _column_at(text, odd.start(), delimiter)
    raise FileRejected(
        "encoding_unclear",
        f"{name}: row {line}" + (f", column {column}," if column else "")
        + " holds a character that is not plausible in Swedish text (a symbol between two "
        "letters, as a DOS or Mac export read as Windows-1252 shows å, ä, ö); neither "
        "Windows-1252, DOS (cp850) nor Mac OS Roman reads the whole file as plausible text, so "
        "it is not loaded rather than loaded garbled",
        row=line, column=column,
        action="Export the file again as UTF-8 (or Windows-1252) and deliver it again; check "
        "that å, ä and ö show correctly when the file is opened in Excel.",
    )


def _column_at(text: str, offset: int, delimiter: str | None) -> str | None:
    """The header name of the field holding `offset`, when the delimiter is known."""
    if delimiter is None:
        return None
    import csv

    header_end = text.find("\n")
    start = text.rfind("\n", 0, offset) + 1
    try:
        header = next(csv.reader([text[:header_end if header_end >= 0 else None].rstrip("\r")],
                                 delimiter=delimiter), [])
        before = next(csv.reader([text[start:offset]], delimiter=delimiter), [""])
    except csv.Error:
        return None
    position = len(before) - 1
    return header[position].strip().lstrip("\ufeff") if position < len(header) else None


def _first_utf8_line(data: bytes) -> int | None:
    """The first line that holds a UTF-8 multi-byte character and decodes wholly as UTF-8."""
    pos = 0
    while (m := _UTF8_MULTIBYTE.search(data, pos)) is not None:
        start = data.rfind(b"\n", 0, m.start()) + 1
        end = data.find(b"\n", m.end())
        end = len(data) if end < 0 else end
        try:
            data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            pos = end + 1
            continue
        return line_of(data, start)
    return None


# --- compressed deliveries ---------------------------------------------------------------------

# the most a compressed delivery may unpack to; a decompression bomb stops here, not in memory
MAX_DECOMPRESSED_BYTES = 2**30
_CHUNK = 2**20
_MAGIC = (
    (re.compile(rb"\x1f\x8b"), "gzip"),
    (re.compile(rb"PK(?:\x03\x04|\x05\x06|\x07\x08)"), "zip"),
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)", re.DOTALL), "bzip2"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz"),
    (re.compile(rb"7z\xbc\xaf\x27\x1c"), "7z"),
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd"),
)
UNCOMPRESSED = ("Deliver the uncompressed CSV, or ask the platform team to allow compressed deliveries "
                "in the registry's contract (format: compression).")


# a compressed file's usual name endings, by the format `compression_of` names
_COMPRESSED_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zip": "zip", ".bz2": "bzip2",
                        ".xz": "xz", ".7z": "7z", ".zst": "zstd"}


def compressed_name(name: str, contract) -> tuple[str, str] | None:
    """(message, action) for a file whose name matches none of the contract's names only because
    it ends in a compression suffix (`palliativ_dodsfall_2024-03.csv.gz`): it is compressed, and
    the contract's `format.compression` says whether such a delivery is unpacked. None otherwise.
    For the `unknown_file_name` reason, which would else call it a wrong name."""
    lower = name.lower()
    suffix = next((s for s in _COMPRESSED_SUFFIXES if lower.endswith(s)), None)
    if suffix is None:
        return None
    inner = name[:-len(suffix)]
    entity = next((e for e in contract.entities if e.match(inner) is not None), None)
    if entity is None:
        return None
    kind = _COMPRESSED_SUFFIXES[suffix]
    allowed = contract.format_of(entity).compression
    if kind not in ("gzip", "zip"):
        can = "regbench unpacks gzip and zip only"
    elif allowed == kind:
        can = f"the contract accepts {kind} but under the uncompressed name"
    else:
        can = (f"the registry's contract ({contract.registry_id}, format.compression: {allowed}) "
               f"does not accept {kind}")
    message = (f"{name}: the name is not wrong, the file is {kind}-compressed (its name ends in "
               f"{suffix}; without it, {inner} is a name the contract expects); {can}")
    if kind in ("gzip", "zip") and allowed == kind:
        action = (f"Deliver it named {inner} (regbench recognises {kind} by its bytes and unpacks "
                  "it), or uncompressed.")
    elif kind in ("gzip", "zip"):
        action = (f"Deliver the uncompressed file as {inner}, or ask the platform team to set "
                  f"format.compression: {kind} in the registry's contract and deliver it named "
                  f"{inner}.")
    else:
        action = f"Deliver the uncompressed file as {inner} (or gzip-compressed, if the contract "\
                 "allows it)."
    return message, action


def compression_of(data: bytes) -> str | None:
    """The compression format whose magic bytes start `data`, if any."""
    return next((kind for magic, kind in _MAGIC if magic.match(data)), None)


def is_excel_workbook(data: bytes) -> bool:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def uncompress(data: bytes, kind: str, allowed: str, name: str) -> bytes:
    """The delivered file inside a compressed delivery the contract allows (`allowed`: gzip, zip
    with one member, or none); at most MAX_DECOMPRESSED_BYTES are unpacked."""
    if kind == "zip" and is_excel_workbook(data):
        raise FileRejected(
            "compressed_file",
            f"{name}: the file is an Excel workbook (a zip archive), not delimited text",
            action="Export the sheet as CSV, or deliver the workbook under a name ending in .xlsx "
            "if the registry's contract accepts Excel files.",
        )
    if kind != allowed:
        allows = ("no compressed deliveries" if allowed == "none"
                  else f"only {allowed}-compressed deliveries")
        raise FileRejected(
            "compressed_file",
            f"{name}: the file is {kind}-compressed; the registry's contract allows {allows}",
            action=UNCOMPRESSED,
        )
    inner = _gunzip(data, name) if kind == "gzip" else _unzip_single(data, name)
    nested = compression_of(inner)
    if nested is not None:
        raise FileRejected(
            "compressed_file",
            f"{name}: the {kind} archive holds another compressed file ({nested}); only one level "
            "of compression is opened",
            action=UNCOMPRESSED,
        )
    return inner


def _too_large(name: str, kind: str) -> FileRejected:
    return FileRejected(
        "decompressed_too_large",
        f"{name}: the {kind} archive unpacks to more than {MAX_DECOMPRESSED_BYTES // 2**20} MB, the "
        "most a delivery may unpack to; it was not unpacked",
        action="Split the export into smaller files (one per month), or deliver it uncompressed.",
    )


def _corrupt(name: str, kind: str, exc: BaseException) -> FileRejected:
    return FileRejected(
        "corrupt_archive",
        f"{name}: the {kind} archive cannot be unpacked ({type(exc).__name__}); it may have been "
        "cut off or damaged in transfer",
        action="Deliver the file again.",
    )


def _read_bounded(stream, name: str, kind: str, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise _too_large(name, kind)
        parts.append(chunk)
    return b"".join(parts)


def _gunzip(data: bytes, name: str) -> bytes:
    import gzip
    import io
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return _read_bounded(stream, name, "gzip", MAX_DECOMPRESSED_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt(name, "gzip", exc) from None


def _unzip_single(data: bytes, name: str) -> bytes:
    import io
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise FileRejected(
                    "zip_members",
                    f"{name}: the zip archive holds {len(members)} files; a delivery holds exactly "
                    "one export file",
                    action="Deliver each export file on its own (one zip per file, or uncompressed).",
                )
            (member,) = members
            if member.file_size > MAX_DECOMPRESSED_BYTES:
                raise _too_large(name, "zip")
            with zf.open(member) as stream:
                return _read_bounded(stream, name, "zip", MAX_DECOMPRESSED_BYTES)
    except FileRejected:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            RuntimeError, NotImplementedError, ValueError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression method
        raise _corrupt(name, "zip", exc) from None
