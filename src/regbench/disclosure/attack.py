"""The attacker: what a reader can work out about every hidden cell from everything published.

Model. Each cell has two unknowns, its numerator n and denominator d (a published value is a
constant). A reader knows these linear facts about the true values:

- level: a region cell is the sum of the unit cells with its region_code, the national cell the
  sum of all unit cells, and also of the region cells plus the units without a region (same
  family, grain and period);
- time: a quarter is the sum of its 3 months, a year of its 12 months (and of its 4 quarters when
  all four are in the table), a rolling_12m cell of the 12 months from its period_start (same
  family, level and entity);
- the warehouse writes no row for an empty cell, so a part missing from the table is zero: a
  month inside an aggregate's span for an entity that has months in the family, a unit (region)
  missing from a level sum whose grain and period have unit (region) cells in the family. A sum
  is used only when its total is in the table and its parts are published at that grain (else a
  missing part would be read as zero when it is merely not published);
- 0 <= n <= d for every cell, and d >= 1: the warehouse writes a row only where something
  happened (a column `den_min` overrides it per cell: registrations have a row for every month);
- families in one set of `shared_denominators` have the same denominator cell by cell: they
  share one unknown, published if any of them publishes it.

Every sum is an equation over the unknowns. For a hidden cell the attacker bounds three counts:
the numerator, the denominator and the complement d - n, each by minimising and maximising it in a
linear programme over those equations. A count is exposed when its whole interval lies in
[1, k-1] (up to EPS): the reader then knows it is a small non-zero count. A true value of 0 or
>= k lies in its own interval, so it can never be exposed; that is why a feasible point (the
truth, or any LP solution) that puts a count below 1 or above k-1 settles the count without
solving for it.

Work, cheapest first: an equation with one unknown left determines it exactly (repeated until
nothing changes); the remaining unknowns fall into independent blocks (connected by shared
equations and by n <= d), and each block's counts are solved with HiGHS, skipping those already
settled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

log = logging.getLogger("regbench.disclosure")

KEY_COLUMNS = ["family", "level", "unit_id", "region_code", "period_grain", "period_start"]
BOUND_COLUMNS = ["num_lo", "num_hi", "den_lo", "den_hi", "comp_lo", "comp_hi"]
RESULT_COLUMNS = KEY_COLUMNS + BOUND_COLUMNS + ["exposed", "route"]
# tolerance of the exposure test on LP bounds
EPS = 1e-6
# a feasible point settles a count only with this margin, wider than HiGHS' feasibility tolerance
_WITNESS_MARGIN = 1e-4
# how far the true values may miss an equation and still count as a feasible point
_TRUTH_TOLERANCE = 1e-6
_SPAN = {"month": 1, "quarter": 3, "year": 12, "rolling_12m": 12}
_COUNT_NAMES = ("numerator", "denominator", "complement")
# relation kinds: (what the total is the sum of) for the route text
_KINDS = ("months", "quarters", "units", "units", "regions and units without region")
_ENTITY = ["fam", "level", "ent"]
_PERIOD = ["fam", "grain", "m0"]


# --------------------------------------------------------------------------------------------
# Public API


def attack(cells: pd.DataFrame, k: int = 5, shared_denominators: Iterable[set[str]] | None = None,
           truth: pd.DataFrame | None = None, progress: Callable[[int, int], None] | None = None,
           full_bounds: bool = False) -> pd.DataFrame:
    """One row per hidden cell of `cells` (hidden, or with a value missing): its key, the LP
    bounds of its numerator, denominator and complement, `exposed` and a `route` naming the
    relations that pin it.

    A value is unknown when it is NaN; a hidden cell's numerator is always unknown (its
    denominator may be published). `truth` (KEY_COLUMNS + numerator, denominator, the real values)
    only saves work: it is a feasible point, so counts it shows to be 0 or >= k are not solved.
    Bounds of counts that were settled without solving are NaN unless `full_bounds`.
    `progress(done, total)` counts hidden cells decided.
    """
    tab = _normalise(cells)
    hidden_rows = np.flatnonzero(tab["hidden"].to_numpy() | tab["num"].isna().to_numpy()
                                 | tab["den"].isna().to_numpy())
    if len(hidden_rows) == 0:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    system = _System.build(tab, _group_of(shared_denominators or []))
    det, det_rel = _propagate(system.eq, system.rhs)
    cell = _CellUnknowns.build(system, det, tab["den_min"].to_numpy(float))
    counts = _Counts.build(cell, hidden_rows)
    blocks = _blocks(system, det, cell, counts)
    if truth is not None and not full_bounds:
        _see_truth(_truth_point(system, tab, truth), system, det, cell, counts, blocks)
    known = np.where(np.isnan(det), 0.0, det)  # determined unknowns, 0 for the open ones
    total = len(hidden_rows)
    done = total - sum(b.hidden for b in blocks)
    if progress:
        progress(done, total)
    for block in blocks:
        if full_bounds or not all(counts.settled(i, k) for i in block.counts):
            _solve_block(_lp(system, known, cell, block), counts, block.counts, k, full_bounds)
        done += block.hidden
        if progress:
            progress(done, total)
    return _result(cells, hidden_rows, counts, system, det_rel, k)


def exposed_cells(result: pd.DataFrame) -> pd.DataFrame:
    """The exposed rows of an `attack` result."""
    return result[result["exposed"].astype(bool)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Input


def _normalise(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells as (fam, level, ent, region, grain, m0) with known values; ent is the unit_id, the
    region_code or '' (national), m0 the first month as year * 12 + month - 1."""
    missing = [c for c in KEY_COLUMNS + ["numerator", "denominator", "hidden"] if c not in cells]
    if missing:
        raise ValueError(f"attack: cells lack columns {missing}")
    tab = _keys(cells)
    bad = set(tab["grain"]) - set(_SPAN)
    if bad:
        raise ValueError(f"attack: unknown period_grain {sorted(bad)}")
    dup = tab.duplicated(["fam", "level", "ent", "grain", "m0"])
    if dup.any():
        raise ValueError(f"attack: duplicate cell {cells[KEY_COLUMNS][dup.to_numpy()].iloc[0].to_dict()}")
    tab["hidden"] = cells["hidden"].fillna(False).to_numpy(bool)
    tab["num"] = pd.to_numeric(cells["numerator"], errors="coerce").to_numpy(float)
    tab["den"] = pd.to_numeric(cells["denominator"], errors="coerce").to_numpy(float)
    tab.loc[tab["hidden"], "num"] = np.nan
    # the warehouse writes a row only where the denominator is at least 1, unless the family
    # says otherwise (registrations: a row for every month, 0 included)
    tab["den_min"] = (pd.to_numeric(cells["den_min"], errors="coerce").fillna(1.0).to_numpy(float)
                      if "den_min" in cells else 1.0)
    return tab


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    level = frame["level"].astype(str).to_numpy()
    unit = _text(frame["unit_id"])
    region = _text(frame["region_code"])
    start = pd.to_datetime(frame["period_start"])
    return pd.DataFrame({
        "fam": frame["family"].astype(str).to_numpy(),
        "level": level,
        "ent": np.where(level == "unit", unit, np.where(level == "region", region, "")),
        "region": np.where(level == "unit", region, ""),
        "grain": frame["period_grain"].astype(str).to_numpy(),
        "m0": (start.dt.year * 12 + start.dt.month - 1).to_numpy(np.int64),
    })


def _text(column: pd.Series) -> np.ndarray:
    return column.astype(object).where(column.notna(), "").astype(str).to_numpy()


def _group_of(shared: Iterable[set[str]]) -> dict[str, str]:
    """family -> its denominator group, named by its first family (overlapping sets merge)."""
    groups: list[set[str]] = []
    for s in shared:
        merged = set(s)
        for g in [g for g in groups if g & merged]:
            merged |= g
            groups.remove(g)
        groups.append(merged)
    return {f: min(g) for g in groups if len(g) > 1 for f in g}


# --------------------------------------------------------------------------------------------
# Relations: every sum whose total is in the table, as (kind, total, parts) over one system's
# rows (cells for numerators, shared-denominator keys for denominators)


def _relations(t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rels: kind, total; parts: kind, total, part) over `t` (sid, fam, level, ent, region,
    grain, m0). A relation with no parts says its total is zero."""
    found = [_time_sums(t), _year_of_quarters(t), *_level_sums(t)]
    rels = pd.concat([r for r, _ in found], ignore_index=True)
    parts = pd.concat([p for _, p in found], ignore_index=True)
    return rels, parts


def _expand(totals: pd.DataFrame, offsets: np.ndarray | list[np.ndarray]) -> pd.DataFrame:
    """One row per (total, month offset): totals' entity columns, total, m0 + offset."""
    if isinstance(offsets, np.ndarray):
        offsets = [offsets] * len(totals)
    sizes = np.array([len(o) for o in offsets], dtype=np.int64)
    idx = np.repeat(np.arange(len(totals)), sizes)
    flat = np.concatenate(offsets) if len(offsets) else np.zeros(0, np.int64)
    out = totals[_ENTITY].iloc[idx].reset_index(drop=True)
    out["total"] = totals["sid"].to_numpy()[idx]
    out["m0"] = totals["m0"].to_numpy()[idx] + flat
    return out


def _time_sums(t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarter, year and rolling_12m cells = their months, for entities that publish months."""
    months = t[t["grain"] == "month"]
    totals = t[t["grain"] != "month"].merge(months[_ENTITY].drop_duplicates(), on=_ENTITY)
    offsets = [np.arange(_SPAN[g]) for g in totals["grain"]]
    spans = _expand(totals, offsets)
    parts = spans.merge(months[_ENTITY + ["m0", "sid"]], on=_ENTITY + ["m0"])
    return (pd.DataFrame({"kind": 0, "total": totals["sid"].to_numpy()}),
            pd.DataFrame({"kind": 0, "total": parts["total"], "part": parts["sid"]}))


def _year_of_quarters(t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Year = its 4 quarters, when all four are in the table (redundant with the months, but it
    lets the cheap pass see it)."""
    years = t[t["grain"] == "year"]
    quarters = t[t["grain"] == "quarter"]
    parts = _expand(years, np.array([0, 3, 6, 9])).merge(quarters[_ENTITY + ["m0", "sid"]],
                                                          on=_ENTITY + ["m0"])
    parts = parts[parts.groupby("total")["sid"].transform("size") == 4]
    totals = parts["total"].drop_duplicates()
    return (pd.DataFrame({"kind": 1, "total": totals.to_numpy()}),
            pd.DataFrame({"kind": 1, "total": parts["total"], "part": parts["sid"]}))


def _level_sums(t: pd.DataFrame) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Region = its units; national = all units; national = regions + units without region."""
    units = t[t["level"] == "unit"]
    regions = t[t["level"] == "region"]
    national = t[t["level"] == "national"]
    no_region = units[units["region"] == ""]
    return [
        _level_sum(2, regions, units, units, on_region=True),
        _level_sum(3, national, units, units),
        _level_sum(4, national, pd.concat([regions, no_region]), regions),
    ]


def _level_sum(kind: int, totals: pd.DataFrame, parts: pd.DataFrame, published: pd.DataFrame,
               on_region: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """totals = sum of `parts` in the same family, grain and period (and region); used only where
    `published` has a cell at that family, grain and period."""
    totals = totals.merge(published[_PERIOD].drop_duplicates(), on=_PERIOD)
    left = totals[_PERIOD + ["sid"] + (["ent"] if on_region else [])].rename(columns={"sid": "total"})
    right = parts[_PERIOD + ["sid"] + (["region"] if on_region else [])]
    if on_region:
        m = left.merge(right, left_on=_PERIOD + ["ent"], right_on=_PERIOD + ["region"])
    else:
        m = left.merge(right, on=_PERIOD)
    return (pd.DataFrame({"kind": kind, "total": totals["sid"].to_numpy()}),
            pd.DataFrame({"kind": kind, "total": m["total"], "part": m["sid"]}))


# --------------------------------------------------------------------------------------------
# The linear system over the unknowns


@dataclass
class _System:
    """Unknowns 0..n_num-1 are hidden numerators (per cell), n_num.. hidden denominators (per
    shared-denominator key). `eq @ x = rhs` holds every relation with at least one unknown."""

    eq: sparse.csr_matrix
    rhs: np.ndarray
    rel_label: list[tuple[str, int, int]]  # per row of eq: (system, kind, total sid)
    num_var: np.ndarray  # per cell: its numerator unknown, or -1
    den_key: np.ndarray  # per cell: its denominator key (sid of the denominator system)
    den_var: np.ndarray  # per denominator key: its unknown, or -1
    num_value: np.ndarray  # per cell: the published numerator (NaN if unknown)
    den_value: np.ndarray  # per denominator key: the published denominator (NaN if unknown)
    den_source: np.ndarray  # per denominator key: the family that publishes it ('' if none)
    den_hidden: np.ndarray  # per cell: its own denominator is not published
    num_tab: pd.DataFrame
    den_tab: pd.DataFrame

    @property
    def n_vars(self) -> int:
        return self.eq.shape[1]

    @classmethod
    def build(cls, tab: pd.DataFrame, group_of: dict[str, str]) -> _System:
        num_tab = tab[["fam", "level", "ent", "region", "grain", "m0"]].assign(sid=np.arange(len(tab)))
        den_tab, den_key, den_value, den_source = _denominator_keys(tab, group_of)
        num_value = tab["num"].to_numpy(float)
        num_var = _number_unknowns(num_value, 0)
        den_var = _number_unknowns(den_value, int((num_var >= 0).sum()))
        n_vars = int((num_var >= 0).sum() + (den_var >= 0).sum())
        rows, cols, coefs, rhs, labels = [], [], [], [], []
        for name, t, var, value in (("num", num_tab, num_var, num_value),
                                    ("den", den_tab, den_var, den_value)):
            _add_relations(name, t, var, value, len(labels), rows, cols, coefs, rhs, labels)
        eq = sparse.csr_matrix(
            (np.concatenate(coefs), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(labels), n_vars))
        eq.sum_duplicates()
        eq.eliminate_zeros()
        return cls(eq, np.concatenate(rhs), labels, num_var, den_key, den_var, num_value,
                   den_value, den_source, tab["den"].isna().to_numpy(), num_tab, den_tab)


def _denominator_keys(tab: pd.DataFrame, group_of: dict[str, str]):
    """Denominator rows: one per (group, level, entity, grain, period), known if any family of the
    group publishes it."""
    group = tab["fam"].map(lambda f: group_of.get(f, f))
    keyed = tab.assign(fam=group.to_numpy(), source=tab["fam"].to_numpy())
    key = keyed.groupby(["fam", "level", "ent", "grain", "m0"], sort=False).ngroup().to_numpy()
    keyed["key"] = key
    first = keyed.drop_duplicates("key").sort_values("key")
    den_tab = first[["fam", "level", "ent", "region", "grain", "m0"]].reset_index(drop=True)
    den_tab["sid"] = np.arange(len(den_tab))
    members: dict[str, list[str]] = {}
    for f, g in sorted(group_of.items()):
        members.setdefault(g, []).append(f)
    den_tab["shared"] = den_tab["fam"].map(lambda g: "+".join(members.get(g, []))).to_numpy()
    published = keyed[keyed["den"].notna()].drop_duplicates("key")
    den_value = np.full(len(den_tab), np.nan)
    den_value[published["key"].to_numpy()] = published["den"].to_numpy()
    den_source = np.full(len(den_tab), "", dtype=object)
    den_source[published["key"].to_numpy()] = published["source"].to_numpy()
    return den_tab, key, den_value, den_source


def _number_unknowns(value: np.ndarray, start: int) -> np.ndarray:
    var = np.full(len(value), -1, dtype=np.int64)
    unknown = np.isnan(value)
    var[unknown] = start + np.arange(int(unknown.sum()))
    return var


def _add_relations(name, t, var, value, offset, rows, cols, coefs, rhs, labels) -> None:
    """Append the relations of one system that hold an unknown: total - sum(parts) = 0 with the
    published members moved to the right-hand side."""
    rels, parts = _relations(t)
    members = pd.concat([
        pd.DataFrame({"kind": rels["kind"], "total": rels["total"], "sid": rels["total"], "coef": 1.0}),
        pd.DataFrame({"kind": parts["kind"], "total": parts["total"], "sid": parts["part"],
                      "coef": -1.0}),
    ], ignore_index=True)
    members["rel"] = members.groupby(["kind", "total"], sort=False).ngroup()
    sid = members["sid"].to_numpy()
    members["var"] = var[sid]
    members["known"] = np.nan_to_num(value[sid]) * members["coef"].to_numpy()
    open_rel = members.loc[members["var"] >= 0, "rel"].unique()
    members = members[members["rel"].isin(open_rel)]
    renumber = pd.Series(np.arange(len(open_rel)), index=np.sort(open_rel))
    members["rel"] = renumber[members["rel"]].to_numpy() + offset
    head = members.drop_duplicates("rel").sort_values("rel")
    labels.extend(zip([name] * len(head), head["kind"].tolist(), head["total"].tolist(), strict=True))
    rhs.append(-members.groupby("rel")["known"].sum().sort_index().to_numpy())
    unknown = members[members["var"] >= 0]
    rows.append(unknown["rel"].to_numpy())
    cols.append(unknown["var"].to_numpy())
    coefs.append(unknown["coef"].to_numpy())


# --------------------------------------------------------------------------------------------
# Cheap pass


def _propagate(eq: sparse.csr_matrix, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve every equation left with one unknown, substitute, repeat. Returns per unknown its
    value (NaN if undetermined) and the row that determined it (-1)."""
    n_rows, n_vars = eq.shape
    csc = eq.tocsc()
    indptr, indices, data = eq.indptr, eq.indices, eq.data
    cptr, cind, cdata = csc.indptr, csc.indices, csc.data
    open_count = np.diff(indptr).tolist()
    rest = rhs.astype(float).tolist()
    value = [np.nan] * n_vars
    source = [-1] * n_vars
    queue = [r for r in range(n_rows) if open_count[r] == 1]
    while queue:
        r = queue.pop()
        if open_count[r] != 1:
            continue
        for p in range(indptr[r], indptr[r + 1]):
            j = int(indices[p])
            if source[j] < 0:
                break
        v = rest[r] / data[p]
        value[j], source[j] = v, r
        for q in range(cptr[j], cptr[j + 1]):
            r2 = int(cind[q])
            rest[r2] -= cdata[q] * v
            open_count[r2] -= 1
            if open_count[r2] == 1:
                queue.append(r2)
    return np.array(value, dtype=float), np.array(source, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Counts: numerator, denominator and complement of each hidden cell, as const + sn * n + sd * d


def _signs(kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sn, sd) of numerator (0), denominator (1) and complement (2) counts."""
    return (np.select([kind == 0, kind == 2], [1.0, -1.0], 0.0), np.where(kind == 0, 0.0, 1.0))


@dataclass
class _Counts:
    """Distinct counts (cells sharing a denominator share its count). Per count: the unknowns it
    reads (-1: none, then its value is in const), its LP bounds and the range of its values seen
    at feasible points."""

    kind: np.ndarray
    nv: np.ndarray
    dv: np.ndarray
    const: np.ndarray
    of_cell: np.ndarray  # (hidden cell, kind) -> count
    lo: np.ndarray
    hi: np.ndarray
    seen_lo: np.ndarray
    seen_hi: np.ndarray

    @classmethod
    def build(cls, cell: _CellUnknowns, hidden_rows: np.ndarray) -> _Counts:
        nv, dv = cell.nv[hidden_rows], cell.dv[hidden_rows]
        n_c = np.where(nv < 0, cell.n_val[hidden_rows], 0.0)
        d_c = np.where(dv < 0, cell.d_val[hidden_rows], 0.0)
        none = np.full(len(nv), -1)
        table = pd.DataFrame({
            "kind": np.repeat([0, 1, 2], len(nv)),
            "nv": np.concatenate([nv, none, nv]),
            "dv": np.concatenate([none, dv, dv]),
            "const": np.concatenate([n_c, d_c, d_c - n_c]),
        })
        table["id"] = table.groupby(["kind", "nv", "dv", "const"], sort=False, dropna=False).ngroup()
        first = table.drop_duplicates("id")
        # a count that reads no unknown is known exactly (published or found by the cheap pass)
        point = ((first["nv"] < 0) & (first["dv"] < 0)).to_numpy()
        lo = np.where(point, first["const"], np.nan)
        n = len(first)
        return cls(first["kind"].to_numpy(), first["nv"].to_numpy(), first["dv"].to_numpy(),
                   first["const"].to_numpy(float), table["id"].to_numpy().reshape(3, -1).T,
                   lo, lo.copy(), np.full(n, np.inf), np.full(n, -np.inf))

    def var(self) -> np.ndarray:
        """Per count: one unknown it reads (-1: none)."""
        return np.where(self.nv >= 0, self.nv, self.dv)

    def values(self, ids: np.ndarray, x: np.ndarray, nv: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """Counts `ids` at point x, whose indices for their unknowns are nv, dv (-1: none)."""
        sn, sd = _signs(self.kind[ids])
        n = np.where(nv >= 0, x[np.maximum(nv, 0)], 0.0)
        d = np.where(dv >= 0, x[np.maximum(dv, 0)], 0.0)
        return self.const[ids] + sn * n + sd * d

    def see(self, ids: np.ndarray, v: np.ndarray) -> None:
        """Record the counts' values at a feasible point."""
        ok = ~np.isnan(v)
        ids, v = ids[ok], v[ok]
        self.seen_lo[ids] = np.minimum(self.seen_lo[ids], v)
        self.seen_hi[ids] = np.maximum(self.seen_hi[ids], v)

    def settled(self, i: int, k: int) -> bool:
        """A feasible point already shows that count i can be < 1 or > k-1: not exposed."""
        return bool(self.seen_lo[i] < 1 - _WITNESS_MARGIN or self.seen_hi[i] > k - 1 + _WITNESS_MARGIN)


@dataclass
class _CellUnknowns:
    """Per cell, after the cheap pass: its numerator and denominator unknowns still open (-1:
    none) and the values of those that are not (published or determined)."""

    nv: np.ndarray
    dv: np.ndarray
    n_val: np.ndarray
    d_val: np.ndarray
    d_min: np.ndarray

    @classmethod
    def build(cls, system: _System, det: np.ndarray, d_min: np.ndarray) -> _CellUnknowns:
        nv = system.num_var.copy()
        dv = system.den_var[system.den_key]
        n_val = system.num_value.copy()
        d_val = system.den_value[system.den_key]
        n_val[nv >= 0] = det[nv[nv >= 0]]
        d_val[dv >= 0] = det[dv[dv >= 0]]
        return cls(np.where(np.isnan(n_val), nv, -1), np.where(np.isnan(d_val), dv, -1), n_val,
                   d_val, d_min)


def _truth_point(system: _System, tab: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """The true values as a point over the unknowns (NaN where truth has no row)."""
    t = _keys(truth)
    t["tn"] = pd.to_numeric(truth["numerator"], errors="coerce").to_numpy(float)
    t["td"] = pd.to_numeric(truth["denominator"], errors="coerce").to_numpy(float)
    on = ["fam", "level", "ent", "grain", "m0"]
    found = tab[on].assign(row=np.arange(len(tab))).merge(t[on + ["tn", "td"]], on=on)
    x = np.full(system.n_vars, np.nan)
    row = found["row"].to_numpy()
    nv = system.num_var[row]
    x[nv[nv >= 0]] = found["tn"].to_numpy()[nv >= 0]
    dv = system.den_var[system.den_key[row]]
    x[dv[dv >= 0]] = found["td"].to_numpy()[dv >= 0]
    return x


def _see_truth(x: np.ndarray, system: _System, det: np.ndarray, cell: _CellUnknowns,
               counts: _Counts, blocks: list[_Block]) -> None:
    """Record the truth as a feasible point of each block where it is one: every open unknown
    has a true value and the true values satisfy the block's equations and 0 <= n <= d. Where
    the data break the model (a total that is not the sum of its parts), the truth proves
    nothing and the block is solved in full."""
    point = np.where(np.isnan(det), x, det)
    residual = np.abs(system.eq @ np.nan_to_num(point, nan=np.inf) - system.rhs)
    n = np.where(cell.nv >= 0, point[np.maximum(cell.nv, 0)], cell.n_val)
    d = np.where(cell.dv >= 0, point[np.maximum(cell.dv, 0)], cell.d_val)
    bad_cell = (n < -_TRUTH_TOLERANCE) | (n > d + _TRUTH_TOLERANCE)
    for block in blocks:
        values = point[block.vars]
        if (np.isnan(values).any() or (values < -_TRUTH_TOLERANCE).any()
                or not (residual[block.rows] <= _TRUTH_TOLERANCE).all() or bad_cell[block.cells].any()):
            log.info("attack: the true values do not fit a block of %d unknowns; solving it in full",
                     len(block.vars))
            continue
        nv, dv = counts.nv[block.counts], counts.dv[block.counts]
        counts.see(block.counts, counts.values(block.counts, point, nv, dv))


# --------------------------------------------------------------------------------------------
# Blocks and their linear programmes


@dataclass
class _Block:
    vars: np.ndarray  # its open unknowns, sorted
    rows: np.ndarray  # its equations
    cells: np.ndarray  # cells whose n <= d involves its unknowns
    counts: np.ndarray  # counts it bounds
    hidden: int  # hidden cells it decides


def _blocks(system: _System, det: np.ndarray, cell: _CellUnknowns, counts: _Counts) -> list[_Block]:
    """Connected components of the open unknowns: linked when they share an equation, and a
    cell's numerator to its denominator (n <= d)."""
    free = np.isnan(det)
    coo = system.eq.tocoo()
    keep = free[coo.col]
    r, c = coo.row[keep], coo.col[keep]
    order = np.lexsort((c, r))
    r, c = r[order], c[order]
    same = r[1:] == r[:-1]
    both = (cell.nv >= 0) & (cell.dv >= 0)
    a = np.concatenate([c[:-1][same], cell.nv[both]])
    b = np.concatenate([c[1:][same], cell.dv[both]])
    n = system.n_vars
    _, label = connected_components(sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)),
                                    directed=False)
    of_var = np.where(free, label, -1)
    n_blocks = int(label.max()) + 1 if n else 0
    row_block = np.full(system.eq.shape[0], -1)
    row_block[r] = label[c]
    cell_var = np.where(cell.nv >= 0, cell.nv, cell.dv)
    cell_block = np.where(cell_var >= 0, of_var[np.maximum(cell_var, 0)], -1)
    count_var = counts.var()
    count_block = np.where(count_var >= 0, of_var[np.maximum(count_var, 0)], -1)
    hidden_block = count_block[counts.of_cell].max(axis=1)
    groups = [_split(keys, n_blocks) for keys in (of_var, row_block, cell_block, count_block)]
    n_hidden = np.bincount(hidden_block[hidden_block >= 0], minlength=n_blocks)
    blocks = [_Block(v, rw, cl, ct, int(h)) for v, rw, cl, ct, h in zip(*groups, n_hidden, strict=True)]
    return [b for b in blocks if len(b.counts)]


def _split(keys: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Indices of `keys` grouped by value 0..n_groups-1 (negative keys dropped)."""
    idx = np.flatnonzero(keys >= 0)
    idx = idx[np.argsort(keys[idx], kind="stable")]
    bounds = np.cumsum(np.bincount(keys[idx], minlength=n_groups))[:-1]
    return np.split(idx, bounds)


@dataclass
class _LP:
    vars: np.ndarray
    a_eq: sparse.csr_matrix | None
    b_eq: np.ndarray | None
    a_ub: sparse.csr_matrix | None
    b_ub: np.ndarray | None
    bounds: np.ndarray  # (n, 2): 0 <= x, n <= published d, d >= published n

    def local(self, global_vars: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.vars, np.maximum(global_vars, 0))
        return np.where(global_vars >= 0, pos, -1)


def _lp(system: _System, known: np.ndarray, cell: _CellUnknowns, block: _Block) -> _LP:
    lp = _LP(block.vars, None, None, None, None, np.column_stack(
        [np.zeros(len(block.vars)), np.full(len(block.vars), np.inf)]))
    if len(block.rows):
        full = system.eq[block.rows]
        # the unknowns the cheap pass determined move to the right-hand side
        lp.b_eq = system.rhs[block.rows] - full @ known
        lp.a_eq = full[:, block.vars].tocsr()
    nl, dl = lp.local(cell.nv[block.cells]), lp.local(cell.dv[block.cells])
    both = (nl >= 0) & (dl >= 0)
    if both.any():
        pairs = np.unique(np.column_stack([nl[both], dl[both]]), axis=0)
        m = len(pairs)
        lp.a_ub = sparse.csr_matrix((np.r_[np.ones(m), -np.ones(m)],
                                     (np.r_[np.arange(m), np.arange(m)], pairs.T.ravel())),
                                    shape=(m, len(block.vars)))
        lp.b_ub = np.zeros(m)
    n_only = (nl >= 0) & (dl < 0)
    np.minimum.at(lp.bounds[:, 1], nl[n_only], np.maximum(cell.d_val[block.cells][n_only], 0.0))
    d_only = (dl >= 0) & (nl < 0)
    np.maximum.at(lp.bounds[:, 0], dl[d_only], cell.n_val[block.cells][d_only])
    # a row exists only where something happened: its denominator is at least den_min (1)
    has_d = dl >= 0
    np.maximum.at(lp.bounds[:, 0], dl[has_d], cell.d_min[block.cells][has_d])
    return lp


def _solve_block(lp: _LP, counts: _Counts, ids: np.ndarray, k: int, full_bounds: bool) -> None:
    """Bound the block's counts, minimum first: a minimum below 1 or above k-1 settles a count
    without its maximum. Every solution is a feasible point that may settle other counts."""
    nl, dl = lp.local(counts.nv[ids]), lp.local(counts.dv[ids])
    sn, sd = _signs(counts.kind[ids])
    solver = _Solver(lp)
    if not full_bounds:
        _settle_in_bulk(solver, counts, ids, nl, dl, sn, sd, k)
    for pos, i in enumerate(ids):
        if not full_bounds and counts.settled(i, k):
            continue
        c = np.zeros(len(lp.vars))
        if nl[pos] >= 0:
            c[nl[pos]] += sn[pos]
        if dl[pos] >= 0:
            c[dl[pos]] += sd[pos]
        low, x = solver.minimise(c)
        counts.lo[i] = low + counts.const[i]
        if x is not None:
            counts.see(ids, counts.values(ids, x, nl, dl))
        if not full_bounds and not (1 - EPS <= counts.lo[i] <= k - 1 + EPS):
            continue
        high, x = solver.minimise(-c)
        counts.hi[i] = counts.const[i] - high
        if x is not None:
            counts.see(ids, counts.values(ids, x, nl, dl))


# the ceiling of every unknown in the upward bulk solve: far above any k
_BULK_CAP = 1e6


def _settle_in_bulk(solver: _Solver, counts: _Counts, ids: np.ndarray, nl: np.ndarray,
                    dl: np.ndarray, sn: np.ndarray, sd: np.ndarray, k: int,
                    rounds: int = 40) -> None:
    """Push the block's open counts of one kind (numerators, denominators, complements) down
    together, then up: one solution settles every count it puts below 1 or above k-1. Kinds apart:
    a cell's numerator and complement summed cancel out. With most cells hidden a block holds
    hundreds of small counts, and one LP each (twice) was most of the attack's time."""
    kind = counts.kind[ids]
    # weights vary per solve, so that counts tied in one sum are pushed in turn
    rng = np.random.default_rng(len(ids))
    for _ in range(rounds):
        open_ = np.array([not counts.settled(i, k) for i in ids])
        if not open_.any():
            return
        before = int(open_.sum())
        for which in (0, 1, 2):
            mine = open_ & (kind == which)
            if not mine.any():
                continue
            for sign in (1.0, -1.0):
                c = np.zeros(solver.n)
                w = sign * rng.uniform(0.5, 1.5, len(ids))
                np.add.at(c, nl[mine & (nl >= 0)], (w * sn)[mine & (nl >= 0)])
                np.add.at(c, dl[mine & (dl >= 0)], (w * sd)[mine & (dl >= 0)])
                if not c.any():
                    continue
                # upwards the sum is unbounded (denominators have no ceiling) and an unbounded
                # LP gives no point: cap every unknown for this one solve
                _, x = solver.minimise(c, cap=None if sign > 0 else _BULK_CAP)
                if x is not None:
                    counts.see(ids, counts.values(ids, x, nl, dl))
        if before - sum(not counts.settled(i, k) for i in ids) < max(1, before // 50):
            return


class _Solver:
    """One HiGHS model per block; each bound only changes the objective, so HiGHS starts from the
    last basis (a new model per bound cost 14 ms of set-up on the demo data's blocks)."""

    def __init__(self, lp: _LP):
        self.n = len(lp.vars)
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        model = highspy.HighsLp()
        model.num_col_ = self.n
        model.col_cost_ = np.zeros(self.n)
        model.col_lower_ = lp.bounds[:, 0].astype(float)
        self.lower = lp.bounds[:, 0].astype(float)
        self.upper = np.where(np.isinf(lp.bounds[:, 1]), highspy.kHighsInf, lp.bounds[:, 1])
        model.col_upper_ = self.upper
        blocks, lower, upper = [], [], []
        if lp.a_eq is not None:
            blocks.append(lp.a_eq)
            lower.append(lp.b_eq)
            upper.append(lp.b_eq)
        if lp.a_ub is not None:
            blocks.append(lp.a_ub)
            lower.append(np.full(len(lp.b_ub), -highspy.kHighsInf))
            upper.append(lp.b_ub)
        matrix = (sparse.vstack(blocks) if blocks else sparse.csr_matrix((0, self.n))).tocsc()
        model.num_row_ = matrix.shape[0]
        model.row_lower_ = np.concatenate(lower) if lower else np.zeros(0)
        model.row_upper_ = np.concatenate(upper) if upper else np.zeros(0)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = matrix.indptr
        model.a_matrix_.index_ = matrix.indices
        model.a_matrix_.value_ = matrix.data
        model.a_matrix_.num_col_ = self.n
        model.a_matrix_.num_row_ = matrix.shape[0]
        self.h.passModel(model)
        self.columns = np.arange(self.n, dtype=np.int32)

    def minimise(self, c: np.ndarray, cap: float | None = None) -> tuple[float, np.ndarray | None]:
        """(min c @ x, the solution); -inf when unbounded, NaN when infeasible. `cap`: solve with
        every unknown at most cap (or its own bound), then restore the bounds."""
        self.h.changeColsCost(self.n, self.columns, c.astype(float))
        if cap is not None:
            self.h.changeColsBounds(self.n, self.columns, self.lower,
                                    np.minimum(self.upper, np.maximum(cap, self.lower)))
            try:
                return self._run()
            finally:
                self.h.changeColsBounds(self.n, self.columns, self.lower, self.upper)
        return self._run()

    def _run(self) -> tuple[float, np.ndarray | None]:
        self.h.run()
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return float(self.h.getInfo().objective_function_value), \
                np.asarray(self.h.getSolution().col_value)
        if status == highspy.HighsModelStatus.kUnbounded:
            return -np.inf, None
        log.warning("attack: the LP over %d unknowns ended %s: the published values contradict "
                    "the model", self.n, self.h.modelStatusToString(status))
        return np.nan, None


# --------------------------------------------------------------------------------------------
# Output


def _result(cells: pd.DataFrame, hidden_rows: np.ndarray, counts: _Counts, system: _System,
            det_rel: np.ndarray, k: int) -> pd.DataFrame:
    out = cells.iloc[hidden_rows][KEY_COLUMNS].reset_index(drop=True)
    lo = counts.lo[counts.of_cell] + 0.0  # + 0.0: no -0.0 from the solver
    hi = counts.hi[counts.of_cell] + 0.0
    for j, name in enumerate(("num", "den", "comp")):
        out[f"{name}_lo"] = lo[:, j]
        out[f"{name}_hi"] = hi[:, j]
    small = (lo >= 1 - EPS) & (hi <= k - 1 + EPS)  # NaN compares False
    # a denominator the cell publishes itself is the policy's choice, not a leak
    small[:, 1] &= system.den_hidden[hidden_rows]
    out["exposed"] = small.any(axis=1)
    routes = _Routes(system, det_rel)
    out["route"] = [routes.text(hidden_rows[i], small[i], lo[i], hi[i]) for i in range(len(out))]
    return out


class _Routes:
    """Which relations hold a hidden cell, for a human reading the result."""

    def __init__(self, system: _System, det_rel: np.ndarray):
        self.system = system
        self.det_rel = det_rel
        self.csc = system.eq.tocsc()
        self.size = np.diff(system.eq.indptr)
        cols = ["fam", "level", "ent", "grain", "m0"]
        self.rows = {"num": {c: system.num_tab[c].to_numpy() for c in cols},
                     "den": {c: system.den_tab[c].to_numpy() for c in cols + ["shared"]}}

    def text(self, row: int, small: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> str:
        if small.any():
            j = int(np.argmax(small))
            return f"{_COUNT_NAMES[j]} in [{_fmt(lo[j])}, {_fmt(hi[j])}] from: {self.why(row, j)}"
        if lo[0] == hi[0] and self.system.num_var[row] >= 0:  # derivable, though not small
            return f"not exposed; numerator determined ({_fmt(lo[0])}) from: {self.why(row, 0)}"
        return "not exposed"

    def why(self, row: int, j: int) -> str:
        s = self.system
        unknowns = []
        if j != 1 and s.num_var[row] >= 0:
            unknowns.append(int(s.num_var[row]))
        key = s.den_key[row]
        if j != 0 and s.den_var[key] >= 0:
            unknowns.append(int(s.den_var[key]))
        first = [int(self.det_rel[v]) for v in unknowns if self.det_rel[v] >= 0]
        ptr = self.csc.indptr
        others = [int(r) for v in unknowns for r in self.csc.indices[ptr[v]:ptr[v + 1]]]
        others.sort(key=lambda r: self.size[r])
        # the same sum over numerators and over denominators reads the same: name it once
        parts = list(dict.fromkeys(self.label(r) for r in dict.fromkeys(first + others)))[:3]
        if j != 0 and s.den_var[key] < 0 and s.den_source[key] not in ("", s.num_tab["fam"].iat[row]):
            parts.insert(0, f"denominator published by {s.den_source[key]} (shared denominators)")
        return ", ".join(parts) if parts else "its own published values"

    def label(self, r: int) -> str:
        name, kind, total = self.system.rel_label[r]
        t = {c: v[total] for c, v in self.rows[name].items()}
        entity = {"unit": f"unit {t['ent']}", "region": f"region {t['ent']}"}.get(t["level"], "national")
        text = f"{entity} {t['grain']} {_period(t['grain'], int(t['m0']))} ({_KINDS[kind]} sum)"
        if t.get("shared"):
            text = f"{text} of the denominators shared by {t['shared']}"
        return text


def _period(grain: str, m0: int) -> str:
    year, month = divmod(m0, 12)
    if grain == "quarter":
        return f"{year}-Q{month // 3 + 1}"
    if grain == "year":
        return str(year)
    if grain == "rolling_12m":
        end_year, end_month = divmod(m0 + 11, 12)
        return f"{year}-{month + 1:02d}..{end_year}-{end_month + 1:02d}"
    return f"{year}-{month + 1:02d}"


def _fmt(v: float) -> str:
    if np.isnan(v) or np.isinf(v):
        return str(v)
    return str(int(round(v))) if abs(v - round(v)) < 1e-6 else f"{v:.3f}"
