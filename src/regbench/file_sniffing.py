"""What a delivered file's bytes are, before they are read as a table: its text encoding.

Each function either returns what it found or raises FileRejected naming the file, the line and what
to do; a message never quotes the file's bytes (they may hold a personnummer).
"""

from __future__ import annotations

import re

from regbench.parse_errors import FileRejected

_UTF8_BOM = b"\xef\xbb\xbf"
# a valid UTF-8 multi-byte sequence; Windows-1252 text almost never holds one (an "Ã" followed by
# a punctuation byte), so finding one next to bytes that are not UTF-8 means two encodings
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")

ONE_ENCODING = ("Export the whole file again in one encoding (UTF-8 preferred, or Windows-1252) and "
                "deliver it again.")


def line_of(data: bytes, offset: int) -> int:
    """The 1-based physical line holding byte `offset`."""
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a delimited-text export: UTF-8 (with or without a byte-order mark), or
    Windows-1252 / Latin-1 when the bytes are not UTF-8 at all. Bytes that are UTF-8 in one line and
    something else in another are refused: any single choice garbles one of them."""
    if data.startswith(_UTF8_BOM):
        return _utf8(data[len(_UTF8_BOM):], name, "utf-8-sig")
    return _utf8(data, name, "utf-8")


def _utf8(data: bytes, name: str, encoding: str) -> tuple[str, str]:
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
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # bytes undefined in cp1252 (0x81, 0x8d, ...): latin-1 maps every byte
        return data.decode("latin-1"), "latin-1"


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
