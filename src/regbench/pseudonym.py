"""Keyed pseudonyms: HMAC-SHA256 of the normalised number with a key held outside the repository."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from regbench.personnummer import Pnr, PnrKind

DEMO_KEY = "regbench-demo-key-not-for-production-use"
MIN_KEY_LENGTH = 32


class PseudonymKeyError(RuntimeError):
    pass


def load_key(*, demo_mode: bool, env: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if env is None else env
    key = env.get("REGBENCH_PSEUDONYM_KEY", "")
    if not key:
        if demo_mode:
            return DEMO_KEY.encode()
        raise PseudonymKeyError(
            "REGBENCH_PSEUDONYM_KEY is not set: set it to a secret of at least "
            f"{MIN_KEY_LENGTH} characters kept outside the repository (or run in demo mode, "
            "REGBENCH_DEMO=1, with demo data only)"
        )
    if key == DEMO_KEY and not demo_mode:
        raise PseudonymKeyError(
            "the built-in demo key is accepted only in demo mode (REGBENCH_DEMO=1); "
            "set REGBENCH_PSEUDONYM_KEY to a real secret"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"REGBENCH_PSEUDONYM_KEY is too short: use at least {MIN_KEY_LENGTH} characters"
        )
    return key.encode()


class Pseudonymiser:
    def __init__(self, key: bytes):
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def pseudonym(self, pnr: Pnr) -> str:
        mac = self._mac.copy()
        prefix = "reserve:" if pnr.kind is PnrKind.RESERVE else ""
        mac.update((prefix + pnr.normalised).encode())
        return mac.hexdigest()
