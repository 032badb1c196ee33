"""Primary and secondary suppression of the indicator values, over everything published together.

A cell is one indicator's counts for one unit, region or the country in one month, quarter, year
or (the latest) rolling 12 months. Every published total is a sum of published parts:

- a region is the sum of its units, the country the sum of its regions (and of units without one);
- a quarter is the sum of its months, a year of its quarters, a rolling window of its 12 months;
- indicators of one registry whose denominators are equal everywhere share one denominator.

Primary cells break the policy (docs/disclosure.md). Secondary suppression then works on these
relations as a fixpoint: every relation holding exactly one hidden member gets a second one,
chosen among its published members as the one that protects best at the least loss (the smallest
count that is at least k, else the largest). Hiding one cell can leave another relation with a
single hidden member, so this repeats until no relation has one. That rule is necessary, not
sufficient (relations combine); the attacker (`attack.py`) then computes the interval of every
hidden count from everything published, and each cell it still pins takes another partner in
every relation it belongs to, until the attacker pins nothing.

Two masks: a hidden denominator (a small denominator, and its partners) is decided per group of
indicators sharing that denominator, so one indicator never publishes the denominator another
hides; a hidden numerator (a small numerator or complement, or a hidden denominator) per
indicator. A cell with a hidden numerator shows no rate, interval or target level.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regbench.disclosure.policy import Policy

log = logging.getLogger("regbench.disclosure")

KEYS = ["registry_id", "indicator_id", "level", "unit_id", "region_code", "period_grain",
        "period_start"]
# the attacker's rounds of extra partners before the layer gives up and the audit refuses
MAX_ROUNDS = 12
# how far the layer widens around a cell the attacker still pins: partners per relation, and
# every third step one relation further out
MAX_DEPTH = 12


@dataclass
class Suppression:
    cells: pd.DataFrame  # KEYS + numerator, denominator, num_hidden, den_hidden, reason
    still_exposed: pd.DataFrame  # the attacker's exposed cells after the last round (empty: safe)
    rounds: int


def publishable(values: pd.DataFrame) -> pd.DataFrame:
    """The cells that are published: every month, quarter and year, and for rolling 12 months
    only each indicator's latest window (the one the dashboards show). Publishing every window
    would let consecutive windows differ by one month in, one month out."""
    roll = values["period_grain"] == "rolling_12m"
    latest = values[roll].groupby("indicator_id")["period_start"].max()
    is_latest = values["period_start"].eq(values["indicator_id"].map(latest))
    return values[~roll | is_latest].reset_index(drop=True)


def primary(cells: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(denominator hidden, numerator hidden) by the policy's rules, before any partner."""
    k = policy.k
    num = cells["numerator"].to_numpy(dtype=float)
    den = cells["denominator"].to_numpy(dtype=float)
    comp = den - num
    small = lambda x: (x >= 1) & (x <= k - 1)  # noqa: E731
    den_hidden = small(den) | ((den > 0) & (den < policy.min_denominator))
    num_hidden = (den_hidden | small(num) | small(comp)
                  | ((den > 0) & (den < policy.mid_denominator) & ((num < k) | (comp < k))))
    return den_hidden, num_hidden


def denominator_groups(cells: pd.DataFrame) -> pd.Series:
    """indicator_id -> the indicator whose denominator it shares (itself when none)."""
    digests = {}
    for indicator_id, part in cells.groupby("indicator_id", sort=True):
        rows = part.sort_values(KEYS[2:])[KEYS[2:] + ["denominator"]].pipe(_text)
        digest = hashlib.sha256(
            (part["registry_id"].iloc[0] + "\n"
             + "\n".join("|".join(r) for r in rows.itertuples(index=False))).encode()).hexdigest()
        digests[indicator_id] = digest
    first: dict[str, str] = {}
    return pd.Series({i: first.setdefault(d, i) for i, d in digests.items()})


def _month_index(dates: pd.Series) -> np.ndarray:
    d = pd.to_datetime(dates)
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy()


def relations(cells: pd.DataFrame) -> pd.DataFrame:
    """Every published sum as members: (rel, cell, total). `cells` has a RangeIndex."""
    c = cells[["indicator_id", "level", "unit_id", "region_code", "period_grain"]].copy()
    c["cell"] = np.arange(len(cells))
    c["entity"] = cells["unit_id"].fillna(cells["region_code"]).fillna("")
    c["region"] = cells["region_code"].fillna("")
    c["m"] = _month_index(cells["period_start"])
    pieces = []

    def link(kind: str, totals: pd.DataFrame, parts: pd.DataFrame, on: list[str]) -> None:
        t = totals[on + ["cell"]].rename(columns={"cell": "total_cell"})
        members = parts[on + ["cell"]].merge(t, on=on)
        head = t[["total_cell"]].assign(cell=t["total_cell"], total=True)
        pieces.append(pd.concat([head, members[["total_cell", "cell"]].assign(total=False)])
                      .assign(kind=kind))

    same_period = ["indicator_id", "period_grain", "m"]
    units, regions, national = (c[c["level"] == lv] for lv in ("unit", "region", "national"))
    link("region = its units", regions, units[units["region"] != ""], same_period + ["region"])
    link("country = its regions", national,
         pd.concat([regions, units[units["region"] == ""]]), same_period)

    series = ["indicator_id", "level", "entity"]
    months = c[c["period_grain"] == "month"].copy()
    quarters = c[c["period_grain"] == "quarter"].copy()
    years = c[c["period_grain"] == "year"]
    months["q"] = months["m"] - months["m"] % 3
    link("quarter = its months", quarters.rename(columns={"m": "q"}), months, series + ["q"])
    quarters["y"] = quarters["m"] - quarters["m"] % 12
    link("year = its quarters", years.rename(columns={"m": "y"}), quarters, series + ["y"])
    rolling = c[c["period_grain"] == "rolling_12m"]
    window = months.drop(columns="q").merge(
        rolling[series + ["m", "cell"]].rename(columns={"m": "start", "cell": "total_cell"}),
        on=series)
    window = window[(window["m"] >= window["start"]) & (window["m"] < window["start"] + 12)]
    if len(rolling):
        pieces.append(pd.concat([
            rolling[["cell"]].assign(total_cell=rolling["cell"], total=True),
            window[["total_cell", "cell"]].assign(total=False)]).assign(kind="rolling 12 months"))
    members = pd.concat(pieces, ignore_index=True)
    members["rel"] = members.groupby(["kind", "total_cell"], sort=False).ngroup()
    return members[["rel", "cell", "total", "kind"]]


def _choose(candidates: pd.DataFrame, score: np.ndarray, den: np.ndarray, k: int,
            per_relation: int = 1) -> np.ndarray:
    """Partners among `candidates` (rel, cell), `per_relation` of each relation: the smallest
    score >= k first, then the largest scores, then the largest denominators."""
    s = score[candidates["cell"].to_numpy()]
    d = den[candidates["cell"].to_numpy()]
    tier = np.where(s >= k, 0, np.where(s > 0, 1, 2))
    key = np.where(tier == 0, s, np.where(tier == 1, -s, -d))
    ranked = candidates.assign(tier=tier, key=key).sort_values(["rel", "tier", "key", "cell"])
    return ranked.groupby("rel", sort=False).head(per_relation)["cell"].unique()


def fixpoint(members: pd.DataFrame, hidden: np.ndarray, score: np.ndarray, den: np.ndarray,
             k: int, fixed: np.ndarray) -> np.ndarray:
    """Hide partners until no relation has exactly one hidden member. `fixed` cells are published
    elsewhere whatever is decided here, so they are never a partner."""
    hidden = hidden.copy()
    rel = members["rel"].to_numpy()
    cell = members["cell"].to_numpy()
    n_rel = int(rel.max()) + 1 if len(rel) else 0
    while True:
        count = np.bincount(rel, weights=hidden[cell], minlength=n_rel)
        lonely = (count[rel] == 1) & ~hidden[cell] & ~fixed[cell]
        if not lonely.any():
            return hidden
        hidden[_choose(members[lonely], score, den, k)] = True


def suppress(values: pd.DataFrame, policy: Policy,
             attack: Callable[..., pd.DataFrame] | None = None) -> Suppression:
    """Decide which cells of `values` (fct_indicator_values' columns) are published."""
    from regbench.disclosure.attack import attack as lp_attack

    attack = attack or lp_attack
    # one order whatever the warehouse returned: partners are chosen with the order as the last
    # tie-break, and DuckDB and PostgreSQL must publish the same cells
    cells = publishable(values).sort_values(KEYS, na_position="first").reset_index(drop=True)
    cells["numerator"] = cells["numerator"].astype(float)
    cells["denominator"] = cells["denominator"].astype(float)
    k = policy.k
    den = cells["denominator"].to_numpy()
    num = cells["numerator"].to_numpy()
    fixed = _flag(cells, "fixed")
    members = relations(cells)
    den_primary, num_primary = primary(cells, policy)
    # a cell published elsewhere (a registry's monthly total) is known whatever it holds
    den_primary &= ~fixed
    num_primary &= ~fixed
    # a plain count (registrations) is protected by its size; a proportion by the smaller of
    # its numerator and complement
    score = np.where(_flag(cells, "count_only"), den, np.minimum(num, den - num))

    # denominators: one mask per group of indicators sharing them
    groups = denominator_groups(cells)
    shared_key = (cells["indicator_id"].map(groups) + "|"
                  + cells[KEYS[2:]].pipe(_text).agg("|".join, axis=1)).to_numpy()

    # a unit's month: its registrations and every indicator denominator of the registry. A
    # denominator can equal the month's registrations (blodcancer: every registration is an mdk
    # and a kontaktssk case) or be bounded by them, so one published where another is hidden
    # gives it back; they are hidden together
    unit_month = ((cells["level"] == "unit") & (cells["period_grain"] == "month")).to_numpy()
    unit_month_key = (cells["registry_id"] + "|" + cells["unit_id"].fillna("") + "|"
                      + _text(cells[["period_start"]])["period_start"]).to_numpy()

    def spread(hidden: np.ndarray) -> np.ndarray:
        hidden = pd.Series(hidden).groupby(shared_key).transform("any").to_numpy(bool).copy()
        linked = pd.Series(hidden[unit_month]).groupby(unit_month_key[unit_month]).transform("any")
        hidden[unit_month] = linked.to_numpy(bool)
        return hidden

    def close(den_hidden: np.ndarray, num_hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        while True:
            settled = spread(fixpoint(members, den_hidden, den, den, k, fixed))
            if (settled == den_hidden).all():
                break
            den_hidden = settled
        return den_hidden, fixpoint(members, num_hidden | den_hidden, score, den, k, fixed)

    den_hidden, num_hidden = close(spread(den_primary), num_primary)

    truth = cells[KEYS[1:] + ["numerator", "denominator"]].rename(
        columns={"indicator_id": "family"})
    exposed = pd.DataFrame()
    rounds, depth, last = 0, 0, None
    # indicators are linked only through shared denominators: after the first round, only the
    # groups where the attacker pinned something changed, so only they are attacked again
    group_of = cells["indicator_id"].map(groups).to_numpy()
    again = np.ones(len(cells), dtype=bool)
    for rounds in range(1, MAX_ROUNDS + 1):
        exposed = attack(_release(cells, num_hidden, den_hidden)[again], k=k,
                         shared_denominators=shared_denominator_sets(groups), truth=truth[again])
        exposed = exposed[exposed["exposed"]]
        if exposed.empty:
            break
        # no progress: widen, from one partner per relation of a pinned cell to more partners
        # per relation, and then to the relations around them
        depth = depth + 1 if last is not None and len(exposed) >= last else depth
        last = len(exposed)
        log.info("disclosure round %d: the attacker pins %d hidden cell(s); hiding partners%s",
                 rounds, len(exposed), f" (widened {depth}x)" if depth else "")
        den_pinned = _small_interval(exposed, "den", k)
        added = 0
        while not added and depth <= MAX_DEPTH:
            for which, mask, by in (("den", den_hidden, den), ("num", num_hidden, score)):
                pinned = _cell_index(cells, exposed[den_pinned if which == "den" else ~den_pinned])
                around = _around(members, pinned, 1 + depth // 3)
                around = around[~mask[around["cell"]] & ~fixed[around["cell"]]]
                if len(around):
                    chosen = _choose(around, by, den, k, per_relation=1 + depth)
                    mask[chosen] = True
                    added += len(chosen)
            if not added:  # every member around is hidden already: look further out
                depth += 1
        if not added:
            break
        den_hidden, num_hidden = close(den_hidden, num_hidden)
        touched = set(groups[exposed["family"].unique()])
        again = np.isin(group_of, list(touched))

    out = cells[KEYS + ["numerator", "denominator"]].copy()
    out["num_hidden"] = num_hidden
    out["den_hidden"] = den_hidden
    out["reason"] = np.where(num_primary, "primary", np.where(num_hidden, "secondary", None))
    return Suppression(cells=out, still_exposed=exposed, rounds=rounds)


def _around(members: pd.DataFrame, cells: np.ndarray, hops: int) -> pd.DataFrame:
    """The members of the relations `hops` steps from `cells` (1: the relations they are in)."""
    reached = np.unique(cells)
    for _ in range(hops):
        rels = members.loc[members["cell"].isin(reached), "rel"].unique()
        found = members[members["rel"].isin(rels)]
        reached = np.union1d(reached, found["cell"].to_numpy())
    return found


def _small_interval(found: pd.DataFrame, count: str, k: int) -> np.ndarray:
    lo, hi = found[f"{count}_lo"].to_numpy(float), found[f"{count}_hi"].to_numpy(float)
    return (lo >= 1 - 1e-6) & (hi <= k - 1 + 1e-6)


def _flag(cells: pd.DataFrame, column: str) -> np.ndarray:
    if column not in cells:
        return np.zeros(len(cells), dtype=bool)
    return cells[column].fillna(False).to_numpy(bool)


def _release(cells: pd.DataFrame, num_hidden: np.ndarray, den_hidden: np.ndarray) -> pd.DataFrame:
    """What a reader sees of the cells: the attacker's input."""
    seen = cells[KEYS[1:]].rename(columns={"indicator_id": "family"})
    seen["numerator"] = np.where(num_hidden, np.nan, cells["numerator"])
    seen["denominator"] = np.where(den_hidden, np.nan, cells["denominator"])
    seen["hidden"] = num_hidden
    seen["den_min"] = np.where(_flag(cells, "count_only"), 0.0, 1.0)
    return seen


def shared_denominator_sets(groups: pd.Series) -> list[set[str]]:
    """The attacker's `shared_denominators` from `denominator_groups`."""
    sets = groups.groupby(groups).apply(lambda s: set(s.index))
    return [s for s in sets if len(s) > 1]


def _cell_index(cells: pd.DataFrame, found: pd.DataFrame) -> np.ndarray:
    on = ["indicator_id", "level", "unit_id", "region_code", "period_grain", "period_start"]
    left = _text(cells[on]).assign(cell=np.arange(len(cells)))
    right = _text(found.rename(columns={"family": "indicator_id"})[on])
    return right.merge(left, on=on)["cell"].to_numpy()


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype(object).fillna("").astype(str)
    if "period_start" in out:
        out["period_start"] = pd.to_datetime(frame["period_start"]).dt.strftime("%Y-%m-%d")
    return out


def summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Suppression rate per indicator: how many published cells are hidden, and why."""
    by = cells.groupby(["registry_id", "indicator_id"])
    out = pd.DataFrame({
        "cells": by.size(),
        "hidden": by["num_hidden"].sum(),
        "primary": by["reason"].apply(lambda r: int((r == "primary").sum())),
    }).reset_index()
    out["secondary"] = out["hidden"] - out["primary"]
    out["hidden_pct"] = 100.0 * out["hidden"] / out["cells"]
    return out
