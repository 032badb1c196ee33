"""Comparing a table's rows between two builds: floats within 1e-9, everything else exact."""

import math


def _key(row) -> tuple:
    """Order rows by everything but their floats, so both warehouses line up."""
    return tuple("" if isinstance(v, float) or v is None else str(v) for v in row)


def _same(a, b) -> bool:
    from decimal import Decimal

    if isinstance(a, Decimal) or isinstance(b, Decimal):
        a, b = (float(a) if a is not None else None), (float(b) if b is not None else None)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b
