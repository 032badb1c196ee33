"""Personnummer-shaped text is redacted wherever a delivered file's name is stored or shown.

Registries sometimes name a file after a patient (`rattelse_19121212-1212.csv`); the name then lands
in the ledger, quarantine folders, logs and the console. Anything that could be a personnummer,
samordningsnummer or reserve number (10 or 12 digits, with or without a separator) is replaced, so
a redacted name is stable: the same delivered name always redacts to the same text.
"""

from __future__ import annotations

import re

REDACTED = "[personnummer]"

# 6 or 8 date digits, an optional separator, then four digits or reserve characters; not inside a
# longer run of digits (a 13-digit sha prefix is not a personnummer)
_PNR_SHAPED = re.compile(
    r"(?<![0-9])(?:\d{2})?\d{6}(?:[-+ _.]?\d{4}|[-+][0-9A-Za-z]{4})(?![0-9])")


def redact(text: str) -> str:
    """`text` with every personnummer-shaped run replaced by REDACTED."""
    return _PNR_SHAPED.sub(lambda m: REDACTED if _looks_like_pnr(m.group(0)) else m.group(0), text)


def _looks_like_pnr(candidate: str) -> bool:
    digits = re.sub(r"[-+ _.]", "", candidate)
    date = digits[-10:-4]
    month, day = int(date[2:4]), int(date[4:6])
    # a plausible month and day (samordningsnummer add 60 to the day); dates in names such as
    # `2024-01` never reach 10 digits, so this keeps false positives to digit runs that really
    # could be a person
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)


def contains_pnr(text: str) -> bool:
    return redact(text) != text
