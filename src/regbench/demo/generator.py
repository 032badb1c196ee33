"""Seeded demo exports, written exactly as each registry's contract says.

Clinics differ realistically, and a few carry defects on purpose, so that dashboards, checks and
tests have something true to find:
- outliers: palliativ's OUTLIER_LOW / OUTLIER_HIGH units (brytpunktssamtal), njur's OUTLIER_LOW
  unit (AV fistula at the first haemodialysis);
- a palliativ unit whose registrations collapse to ~10 % in the last three months;
- a njur unit whose registrations cover only ~55 % of the persons in the reference extract.
Output is byte-for-byte deterministic for a seed, scale and end month.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from regbench.contracts import Contract, Entity
from regbench.personnummer import luhn_check_digit

# Positions in units.csv (per registry) of the seeded defects; documented in the report.
OUTLIER_LOW = {"palliativ": 2, "njur": 0}
OUTLIER_HIGH = {"palliativ": 13}
COLLAPSING = ("palliativ", 10)
LOW_COVERAGE = ("njur", 6)
# registers months after the event (a "late registrar")
LATE_REGISTRAR = ("njur", 3)
# leaves one optional variable empty in every registration
EMPTY_VARIABLE = ("swedvasc", 4, "vikt_kg")

# Mean registrations per unit and month at scale 1.0 (about 40k in all over 36 months).
VOLUME = {"palliativ": 17.0, "njur": 6.5, "swedvasc": 20.0, "blodcancer": 12.0}
PREVALENT_PER_UNIT = 55
AGES = {"palliativ": (60, 101), "njur": (20, 90), "swedvasc": (50, 90), "blodcancer": (20, 90)}
COMMENTS = [
    "Önskade dö hemma; familjen närvarande",
    'Anhöriga informerade, "lugnt" förlopp',
    "Smärtlindring via pump\nUtvärderad dagligen",
    "Flyttad från äldreboende",
    "=HYPERLINK(\"http://example.invalid\")",
    "Trycksår vid ankomst, åtgärdat",
]


@dataclass
class GenerationReport:
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    outlier_units: dict[str, list[str]] = field(default_factory=dict)
    collapsing_unit: str = ""
    low_coverage_unit: str = ""
    late_registrar_unit: str = ""
    empty_variable: tuple[str, str] = ("", "")


def _months(end_month: str, months: int) -> list[date]:
    y, m = map(int, end_month.split("-"))
    out = []
    for _ in range(months):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _units(units_csv: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with units_csv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["registry_id"], []).append(row["unit_id"])
    return out


def _logistic(x):
    return 1 / (1 + np.exp(-x))


def _logit(p):
    return np.log(p / (1 - p))


class _People:
    """Personnummer for synthetic persons, in the forms real exports mix."""

    def __init__(self, rng: np.random.Generator, as_of: date):
        self.rng = rng
        self.as_of = as_of

    def number(self, event: date, age_range: tuple[int, int]) -> tuple[str, int]:
        """A personnummer in one of the written forms, and the person's age at the event."""
        rng = self.rng
        age_days = int(rng.integers(age_range[0] * 365, age_range[1] * 365))
        born = event - timedelta(days=age_days + 1)
        serial = f"{int(rng.integers(0, 1000)):03d}"
        day = born.day + (60 if rng.random() < 0.01 else 0)
        yymmdd = f"{born.year % 100:02d}{born.month:02d}{day:02d}"
        check = luhn_check_digit(yymmdd + serial)
        age = age_days // 365
        form = rng.random()
        if form < 0.8:
            return f"{born.year}{born.month:02d}{day:02d}{serial}{check}", age
        if form < 0.9:
            return f"{born.year}{born.month:02d}{day:02d}-{serial}{check}", age
        # the 10-digit form only makes sense relative to today; keep it for the living ages
        sep = "+" if self.as_of.year - born.year >= 100 else "-"
        return f"{yymmdd}{sep}{serial}{check}", age


class _Writer:
    def __init__(self, path: Path, contract: Contract, entity: Entity):
        fmt = contract.format_of(entity)
        self.fmt = fmt
        self.columns = [c.name for c in entity.columns]
        path.parent.mkdir(parents=True, exist_ok=True)
        encoding = fmt.encoding
        self.fh = path.open("w", encoding=encoding, newline="")
        terminator = "\r\n" if encoding == "cp1252" else "\n"
        self.w = csv.writer(self.fh, delimiter=fmt.delimiter, lineterminator=terminator)
        self.w.writerow(self.columns)
        self.path = path
        self.count = 0

    def value(self, v) -> str:
        if v is None:
            return ""
        if isinstance(v, date):
            return v.strftime(self.fmt.date_format)
        if isinstance(v, float):
            text = f"{v:.1f}"
            return text.replace(".", ",") if self.fmt.decimal == "," else text
        return str(v)

    def row(self, values: dict) -> None:
        self.w.writerow([self.value(values.get(c)) for c in self.columns])
        self.count += 1

    def close(self) -> None:
        self.fh.close()


def _file_name(entity: Entity, period: str) -> str:
    """The concrete file name for a period, from the entity's pattern."""
    pattern = entity.file_pattern
    start = pattern.index("(?P<period>")
    depth, end = 0, start
    for i in range(start, len(pattern)):
        if pattern[i] == "(":
            depth += 1
        elif pattern[i] == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    name = pattern[:start] + period + pattern[end + 1:]
    # an alternative such as `(?:csv|xlsx)`: the demo writes the first
    name = re.sub(r"\(\?:([^|)]+)(\|[^)]*)?\)", r"\1", name)
    return name.replace("\\.", ".")


def generate(out_dir: Path, contracts: dict[str, Contract], units_csv: Path, *, scale: float = 1.0,
             seed: int = 20261124, end_month: str = "2026-10", months: int = 36,
             progress: Callable[[str], None] | None = None) -> GenerationReport:
    report = GenerationReport()
    units = _units(units_csv)
    periods = _months(end_month, months)
    last_day = _month_end(periods[-1])
    for registry_id in sorted(contracts):
        if registry_id not in VOLUME:
            continue
        rng = np.random.default_rng([seed, sum(map(ord, registry_id))])
        _Registry(registry_id, contracts[registry_id], units[registry_id], rng, scale, periods,
                  last_day, out_dir / contracts[registry_id].inbox_folder, report, progress).run()
    return report


class _Registry:
    def __init__(self, registry_id, contract, units, rng, scale, periods, last_day, out, report,
                 progress):
        self.id, self.contract, self.units, self.rng = registry_id, contract, units, rng
        self.periods, self.last_day, self.out, self.report = periods, last_day, out, report
        self.progress = progress or (lambda _m: None)
        self.people = _People(rng, last_day)
        n = len(units)
        self.volume = VOLUME[registry_id] * scale * rng.lognormal(0, 0.6, n) / np.exp(0.18)
        self.effect = rng.normal(0, 0.35, n)  # per-unit quality on the logit scale
        self.ref_writer: _Writer | None = None
        self.ref_year: int | None = None
        report.outlier_units[registry_id] = []
        if registry_id in OUTLIER_LOW:
            i = OUTLIER_LOW[registry_id]
            self.volume[i] = max(self.volume[i], VOLUME[registry_id] * scale * 2)
            report.outlier_units[registry_id].append(units[i])
        if registry_id in OUTLIER_HIGH:
            i = OUTLIER_HIGH[registry_id]
            self.volume[i] = max(self.volume[i], VOLUME[registry_id] * scale * 2)
            report.outlier_units[registry_id].append(units[i])
        if registry_id == COLLAPSING[0]:
            self.volume[COLLAPSING[1]] = max(self.volume[COLLAPSING[1]], VOLUME[registry_id] * scale * 1.5)
            report.collapsing_unit = units[COLLAPSING[1]]
        if registry_id == LOW_COVERAGE[0]:
            report.low_coverage_unit = units[LOW_COVERAGE[1]]
        if registry_id == LATE_REGISTRAR[0]:
            report.late_registrar_unit = units[LATE_REGISTRAR[1]]
        if registry_id == EMPTY_VARIABLE[0]:
            report.empty_variable = (units[EMPTY_VARIABLE[1]], EMPTY_VARIABLE[2])

    def p(self, u: int, national: float, indicator: str = "") -> float:
        if indicator in ("brytpunktssamtal", "avf") and u == OUTLIER_LOW.get(self.id):
            return 0.35 if self.id == "palliativ" else 0.2
        if indicator == "brytpunktssamtal" and u == OUTLIER_HIGH.get(self.id):
            return 0.98
        return float(_logistic(_logit(national) + self.effect[u]))

    def yes(self, p: float, unknown: bool = True) -> str:
        r = self.rng.random()
        if unknown and r < 0.02:
            return "9"
        return "1" if self.rng.random() < p else "2"

    def day_in(self, month: date) -> date:
        return month + timedelta(days=int(self.rng.integers(0, _month_end(month).day)))

    def registered(self, event: date, max_lag: int, delay: int = 0) -> date:
        lag = delay + int(self.rng.gamma(2.0, max_lag / 6))
        return min(event + timedelta(days=lag), self.last_day)

    def reference(self, unit: str, event: date, pnr: str) -> None:
        entity = self.contract.entity("referens")
        if self.ref_year != event.year:
            self._close_reference()
            path = self.out / _file_name(entity, str(event.year))
            self.ref_writer, self.ref_year = _Writer(path, self.contract, entity), event.year
        self.ref_writer.row({"personnummer": pnr, "enhetskod": unit, "handelsedatum": event})

    def _close_reference(self) -> None:
        if self.ref_writer is not None:
            self.ref_writer.close()
            self._done(self.ref_writer, "referens")
            self.ref_writer = None

    def _done(self, writer: _Writer, entity: str) -> None:
        self.report.files.append(writer.path)
        key = f"{self.id}/{entity}"
        self.report.rows[key] = self.report.rows.get(key, 0) + writer.count
        self.progress(f"{self.id}: {writer.path.name}")

    def run(self) -> None:
        main = next(e for e in self.contract.entities if e.role == "registrations")
        build = getattr(self, f"_{self.id}")
        for month in self.periods:
            writer = _Writer(self.out / _file_name(main, month.strftime("%Y-%m")), self.contract, main)
            for u, unit in enumerate(self.units):
                lam = self.volume[u]
                if (self.id, u) == COLLAPSING and month >= self.periods[-3]:
                    lam *= 0.1
                for _ in range(int(self.rng.poisson(lam))):
                    event = self.day_in(month)
                    pnr, age = self.people.number(event, AGES[self.id])
                    coverage_gap = 0.45 if (self.id, u) == LOW_COVERAGE else 0.05
                    r = self.rng.random()
                    if r < coverage_gap:
                        self.reference(unit, event, pnr)  # only in the reference register
                        continue
                    if r > 0.02 + coverage_gap:
                        self.reference(unit, event, pnr)
                    writer.row(build(u, unit, event, pnr, age))
            writer.close()
            self._done(writer, main.name)
        self._close_reference()
        if self.id == "njur":
            self._njur_prevalence()

    def _palliativ(self, u, unit, event, pnr, age) -> dict:
        expected = self.yes(0.85, unknown=False)
        comment = COMMENTS[int(self.rng.integers(len(COMMENTS)))] if self.rng.random() < 0.05 else None
        grade = "0" if self.rng.random() < self.p(u, 0.88) else str(int(self.rng.integers(1, 5)))
        return {
            "personnummer": pnr, "enhetskod": unit, "dodsdatum": event,
            "registreringsdatum": self.registered(event, 90), "vantat_dodsfall": expected,
            "brytpunktssamtal": self.yes(self.p(u, 0.75, "brytpunktssamtal")),
            "smartskattning": self.yes(self.p(u, 0.85)), "munhalsa": self.yes(self.p(u, 0.8)),
            "vid_behov_opioid": self.yes(self.p(u, 0.95)),
            "vid_behov_angest": self.yes(self.p(u, 0.93)),
            "trycksar_grad": "9" if self.rng.random() < 0.02 else grade, "kommentar": comment,
        }

    def _njur(self, u, unit, event, pnr, age) -> dict:
        r = self.rng.random()
        modality = "HD" if r < 0.70 else ("PD" if r < 0.95 else "TX")
        access = None
        if modality == "HD":
            access = ("AVF" if self.rng.random() < 0.8 else "AVG") if self.rng.random() < self.p(
                u, 0.5, "avf") else "CVK"
            if self.rng.random() < 0.02:
                access = "9"
        return {
            "personnummer": pnr, "enhetskod": unit, "startdatum": event,
            "registreringsdatum": self.registered(
                event, 30, delay=150 if (self.id, u) == LATE_REGISTRAR else 0),
            "forsta_modalitet": modality,
            "forsta_access": access, "egfr_vid_start": round(float(self.rng.normal(8, 2.5)), 1)
            if self.rng.random() < 0.9 else None,
        }

    def _njur_prevalence(self) -> None:
        entity = self.contract.entity("prevalens")
        years = sorted({m.year for m in self.periods if m.month == 12})
        for year in years:
            year_end = date(year, 12, 31)
            writer = _Writer(self.out / _file_name(entity, str(year)), self.contract, entity)
            for u, unit in enumerate(self.units):
                n = int(self.rng.poisson(PREVALENT_PER_UNIT * self.volume[u] / VOLUME["njur"]))
                for _ in range(n):
                    r = self.rng.random()
                    modality = "HD" if r < 0.45 else ("PD" if r < 0.6 else "TX")
                    access = None
                    if modality == "HD":
                        access = "CVK" if self.rng.random() < self.p(u, 0.25) else "AVF"
                    writer.row({
                        "personnummer": self.people.number(year_end, AGES["njur"])[0],
                        "enhetskod": unit, "arsdatum": year_end,
                        "registreringsdatum": min(year_end + timedelta(days=int(self.rng.integers(10, 60))),
                                                  self.last_day),
                        "modalitet": modality, "access": access,
                    })
            writer.close()
            self._done(writer, entity.name)

    def _weight(self, u: int) -> float | None:
        kg = round(float(self.rng.normal(80, 14)), 1)  # drawn for every unit: the seed stays stable
        return None if (self.id, u) == EMPTY_VARIABLE[:2] else kg

    def _swedvasc(self, u, unit, event, pnr, age) -> dict:
        r = self.rng.random()
        kind = "KAROTIS" if r < 0.30 else ("AAA" if r < 0.55 else "BEN")
        symptomatic = symptom = None
        if kind == "KAROTIS":
            symptomatic = "1" if self.rng.random() < 0.8 else "2"
            if symptomatic == "1":
                within = self.rng.random() < self.p(u, 0.75)
                days = int(self.rng.integers(1, 15)) if within else int(self.rng.integers(15, 60))
                symptom = event - timedelta(days=days)
        elective = "1" if self.rng.random() < (0.85 if kind == "AAA" else 0.6) else "2"
        death = None
        if kind == "AAA" and self.rng.random() < self.p(u, 0.02) * (2.0 if age > 75 else 1.0):
            death = event + timedelta(days=int(self.rng.integers(1, 30)))
        return {
            "personnummer": pnr, "enhetskod": unit, "operationsdatum": event,
            "registreringsdatum": self.registered(event, 45), "ingreppstyp": kind,
            "symtomatisk": symptomatic, "symtomdatum": symptom, "elektiv": elective,
            "dodsdatum": death if death and death <= self.last_day else None,
            "vikt_kg": self._weight(u),
        }

    def _blodcancer(self, u, unit, event, pnr, age) -> dict:
        treated = self.rng.random() < 0.85
        suspicion = event - timedelta(days=int(self.rng.integers(0, 30)))
        start = None
        if treated:
            start = min(suspicion + timedelta(days=int(self.rng.gamma(4, 6))), self.last_day)
            start = max(start, event)
        return {
            "personnummer": pnr, "enhetskod": unit, "diagnosdatum": event,
            "registreringsdatum": self.registered(event, 60),
            "diagnos": ["C81", "C83", "C90", "C91", "C92"][int(self.rng.integers(5))],
            "valgrundad_misstanke": suspicion, "behandlingsstart": start,
            "mdk": self.yes(self.p(u, 0.9)), "kontaktsjukskoterska": self.yes(self.p(u, 0.85)),
            "lpk": round(float(self.rng.lognormal(2, 1)), 1),
        }
