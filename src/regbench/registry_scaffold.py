"""`regbench registry add`: a first contract, thresholds file and staging model for a new registry,
inferred from one sample export. Everything it writes is a draft for a person to review: it says
so in the files, and it never overwrites an existing registry."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from regbench.parsing import FALLBACK_DATE_FORMATS

PERIOD = re.compile(r"(\d{4}-\d{2}|\d{4})")
PNR_VALUE = re.compile(r"^(\d{6}|\d{8})[-+]?\d{4}$")
MISSING = {"", "NULL", "NA", "-", "Uppgift saknas"}
MAX_CODES = 12
SAMPLE_ROWS = 2000


class ScaffoldError(ValueError):
    pass


@dataclass
class SampleFormat:
    encoding: str
    delimiter: str
    decimal: str
    date_format: str
    header: list[str]
    rows: list[list[str]]


def read_sample(path: Path) -> SampleFormat:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    text = raw.decode(encoding)
    first = text.splitlines()[0] if text else ""
    delimiter = max([";", ",", "\t"], key=first.count)
    if first.count(delimiter) == 0:
        raise ScaffoldError(f"{path}: the first line has no ; , or tab: is it a header of a CSV export?")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    rows = [r for _, r in zip(range(SAMPLE_ROWS), reader, strict=False) if any(c.strip() for c in r)]
    if not rows:
        raise ScaffoldError(f"{path}: no data rows below the header")
    values = [c for r in rows for c in r]
    decimal = "," if delimiter != "," and any(re.fullmatch(r"-?\d+,\d+", v) for v in values) else "."
    date_format = _date_format(values)
    return SampleFormat(encoding, delimiter, decimal, date_format, header, rows)


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
        return True
    except ValueError:
        return False


def _date_format(values: list[str]) -> str:
    datey = [v for v in values if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", v)]
    for fmt in FALLBACK_DATE_FORMATS[:2]:
        if datey and all(_parses(v, fmt) for v in datey):
            return fmt
    return "%Y-%m-%d"


def _column(name: str, values: list[str], fmt: SampleFormat) -> dict:
    present = [v.strip() for v in values if v.strip() not in MISSING]
    lower = name.lower()
    col: dict = {"name": re.sub(r"[^a-z0-9_]", "_", lower).strip("_") or "kolumn"}
    if col["name"] != lower:
        col["aliases"] = [name]
    distinct = sorted(set(present))
    number = r"-?\d+" + (r"(,\d+)?" if fmt.decimal == "," else r"(\.\d+)?")
    if lower in {"personnummer", "pnr", "personnr"} or (
            present and sum(bool(PNR_VALUE.match(v)) for v in present) >= 0.9 * len(present)):
        col["type"] = "personnummer"
    elif any(k in lower for k in ("enhet", "unit", "klinik", "sjukhus")):
        col["type"] = "unit"
    elif present and all(_parses(v, fmt.date_format) for v in present):
        col["type"] = "date"
    elif present and len(distinct) <= MAX_CODES and (
            len(distinct) <= 3 or not all(re.fullmatch(number, v) for v in present)):
        col["type"] = "code"
        col["codes"] = {v: f"TODO: label of {v}" for v in distinct}
        unknown = [v for v in distinct if v in {"9", "99", "999"}]
        if unknown:
            col["unknown_codes"] = unknown
    elif present and all(re.fullmatch(r"-?\d+", v) for v in present):
        col["type"] = "integer"
    elif present and all(re.fullmatch(number, v) for v in present):
        col["type"] = "decimal"
    else:
        col["type"] = "string"
    if col["type"] in {"personnummer", "unit"} or (present and len(present) == len(values)
                                                    and col["type"] == "date"):
        col["required"] = True
    return col


def infer_contract(registry_id: str, sample: Path, *, name: str, network: str, contact_email: str,
                   entity: str | None = None) -> dict:
    fmt = read_sample(sample)
    stem, suffix = sample.stem, sample.suffix
    found = list(PERIOD.finditer(stem))
    if not found:
        raise ScaffoldError(f"{sample.name}: no period (YYYY or YYYY-MM) in the file name; regbench "
                            "needs it to know what a file covers")
    period = found[-1]
    before, after = stem[:period.start()], stem[period.end():]
    entity = entity or (before.removeprefix(f"{registry_id}_").strip("_") or "registrering")
    group = r"\d{4}-\d{2}" if "-" in period.group() else r"\d{4}"
    pattern = f"{re.escape(before)}(?P<period>{group}){re.escape(after)}{re.escape(suffix)}"
    columns = [_column(h, [r[i] if i < len(r) else "" for r in fmt.rows], fmt)
               for i, h in enumerate(fmt.header)]
    names = [c["name"] for c in columns]
    if len(set(names)) != len(names):
        raise ScaffoldError(f"{sample.name}: two headers give the same column name: {names}")
    if sum(c["type"] == "personnummer" for c in columns) != 1:
        raise ScaffoldError(f"{sample.name}: found no single personnummer column among {fmt.header}; "
                            "name it personnummer in the sample")
    dates = [c["name"] for c in columns if c["type"] == "date"]
    registration = next((d for d in dates if "regist" in d), None)
    event = next((d for d in dates if d != registration), None)
    pnr = next(c["name"] for c in columns if c["type"] == "personnummer")
    ent: dict = {"name": entity, "description": "TODO: what one row is",
                 "file_pattern": pattern}
    if event:
        ent["event_date_column"] = event
        ent["key_columns"] = [pnr, event]
    if registration:
        ent["registration_date_column"] = registration
        if event:
            ent["date_order"] = [[event, registration]]
    ent["columns"] = columns
    return {
        "registry_id": registry_id, "name": name, "network": network, "contact_email": contact_email,
        "source": {"kind": "drop_folder", "path": registry_id},
        "format": {"encoding": fmt.encoding, "delimiter": fmt.delimiter, "decimal": fmt.decimal,
                   "date_format": fmt.date_format},
        "reject_threshold_pct": 5,
        "entities": [ent],
    }


def _thresholds(registry_id: str) -> dict:
    why = "TODO: agree with the registry what is tolerated, and write why here."
    return {
        "registry_id": registry_id,
        "door": {
            "required_values": {"severity": "fatal", "note": why},
            "unknown_codes": {"max_violating_pct": 20, "severity": "warning", "note": why},
            "code_lists": {"max_violating_pct": 0, "severity": "warning", "note": why},
            "ranges": {"max_violating_pct": 0, "severity": "warning", "note": why},
            "future_dates": {"max_violating_pct": 0, "severity": "warning", "note": why},
        },
        "registration_frequency": {"window_months": 3, "baseline_months": 12,
                                   "min_share_of_baseline": 0.5, "min_expected": 15,
                                   "severity": "warning", "note": why},
        "coverage": {"min_coverage": 0.7, "min_persons": 20, "severity": "warning", "note": why},
        "timeliness": {"window_months": 12, "max_p90_days": 120, "min_registrations": 10,
                       "severity": "warning", "note": why},
        "completeness": {"window_months": 12, "max_missing_pct": 20, "min_registrations": 10,
                         "variables": [], "severity": "warning", "note": why},
    }


def _keys(ent: dict) -> list[str]:
    pnr = next(c["name"] for c in ent["columns"] if c["type"] == "personnummer")
    return ["person_id" if k == pnr else k for k in ent.get("key_columns", [])] or ["person_id"]


def _staging_sql(contract: dict) -> str:
    rid = contract["registry_id"]
    ent = contract["entities"][0]
    cols = ent["columns"]
    unit = next((c["name"] for c in cols if c["type"] == "unit"), None)
    keep = [c["name"] for c in cols if c["type"] not in {"personnummer", "unit"}
            and c["name"] not in {ent.get("event_date_column"), ent.get("registration_date_column")}]
    lines = [f"    '{rid}' as registry_id,", "    l.person_id,", "    l.pnr_kind,", "    l.birth_year,",
             "    l.sex,"]
    if unit:
        lines += [f"    l.{unit} as unit_id,", "    u.region_code,"]
    if ent.get("event_date_column"):
        lines.append(f"    l.{ent['event_date_column']} as event_date,")
    if ent.get("registration_date_column"):
        lines.append(f"    l.{ent['registration_date_column']} as registration_date,")
    lines += [f"    l.{c}," for c in keep] + ["    l._file_id,", "    l._row_number"]
    join = ("left join {{ ref('units') }} as u\n"
            f"    on u.unit_id = l.{unit} and u.registry_id = '{rid}'\n" if unit else "")
    return (f"-- Scaffolded by `regbench registry add` on {date.today().isoformat()}: review it, then add "
            f"the registry's\n-- units (seeds/units.csv) and indicators: one model each in "
            f"models/indicators/{rid}/\n-- int_{rid}__<indicator>.sql and its row in "
            "seeds/indicators.csv (README: adding an indicator).\n"
            "-- one row per key: the latest version of it in raw\nselect\n" + "\n".join(lines)
            + f"\nfrom {{{{ ref('base_{rid}__{ent['name']}') }}}} as l\n" + join)


def _base_sql(contract: dict) -> str:
    """The incremental table of the latest version per key (decision 0012). Months are the unit
    of rebuilding, so the event date must be part of the key; without it the whole table is one
    unit and any change rebuilds all of it."""
    rid = contract["registry_id"]
    ent = contract["entities"][0]
    keys = _keys(ent)
    date_col = ent.get("event_date_column")
    period = f"'{date_col}'" if date_col and date_col in keys else "none"
    source = f"source('raw_{rid}', '{rid}__{ent['name']}')"
    key_list = ", ".join(f"'{k}'" for k in keys)
    hooks = ", ".join(f'"{{{{ {hook}({source}, {period}) }}}}"'
                      for hook in ("take_changed_periods", "delete_changed_periods"))
    return (f"{{{{ config(pre_hook=[{hooks}],\n          indexes=base_indexes({period})) }}}}\n"
            f"{{{{ latest_rows({source}, [{key_list}], {period}) }}}}\n")


def scaffold(home: Path, contracts_dir: Path, thresholds_dir: Path, registry_id: str, sample: Path,
             **contract_fields) -> list[Path]:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", registry_id):
        raise ScaffoldError(f"registry id {registry_id!r}: use lower-case letters, digits and _")
    contract = infer_contract(registry_id, sample, **contract_fields)
    entity = contract["entities"][0]["name"]
    staging = home / "dbt_project" / "models" / "staging"
    base = home / "dbt_project" / "models" / "base"
    targets = {
        contracts_dir / f"{registry_id}.yaml": "contract",
        thresholds_dir / f"{registry_id}.yaml": "thresholds",
        staging / f"_sources_{registry_id}.yml": "sources",
        staging / f"stg_{registry_id}__{entity}.sql": "staging",
        base / f"base_{registry_id}__{entity}.sql": "base",
    }
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise ScaffoldError(f"{registry_id} exists already ({', '.join(existing)}); nothing was written")
    header = (f"# Scaffolded by `regbench registry add` from {sample.name} on {date.today().isoformat()}.\n"
              "# A draft: check every type, code label (TODO) and required flag against the registry's\n"
              "# variable list before the first real delivery.\n")
    dump = lambda data: yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)  # noqa: E731
    sources = {"version": 2, "sources": [{
        "name": f"raw_{registry_id}", "schema": "raw",
        "description": f"{contract['name']}: loaded by regbench.ingest",
        "tables": [{"name": f"{registry_id}__{e['name']}"} for e in contract["entities"]]}]}
    contents = {
        "contract": header + dump(contract),
        "thresholds": header + dump(_thresholds(registry_id)),
        "sources": header + dump(sources),
        "staging": _staging_sql(contract),
        "base": _base_sql(contract),
    }
    for path, kind in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(contents[kind], encoding="utf-8")
    return list(targets)
