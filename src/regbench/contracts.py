"""Registry contracts: how a registry delivers its export and what each column means.

One YAML file per registry in `registries/`. Adding a registry means adding a contract;
no Python changes. A broken contract fails with the file and the field that is wrong.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the field."""


class ColumnType(str, Enum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    CODE = "code"
    BOOLEAN = "boolean"
    PERSONNUMMER = "personnummer"
    UNIT = "unit"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: ColumnType
    required: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()
    # code value (as written in the export) -> label
    codes: dict[str, str] | None = None
    # codes that mean "unknown" and count as missing for completeness
    unknown_codes: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_as_strings(cls, v):
        if v is None:
            return v
        return {str(k): str(label) for k, label in v.items()}

    @field_validator("unknown_codes", mode="before")
    @classmethod
    def _unknown_as_strings(cls, v):
        return tuple(str(x) for x in (v or ()))

    @model_validator(mode="after")
    def _codes_only_for_code_columns(self):
        if self.type is ColumnType.CODE and not self.codes:
            raise ValueError(f"column {self.name!r} has type code but no codes")
        if self.type is not ColumnType.CODE and self.codes:
            raise ValueError(f"column {self.name!r} has codes but type {self.type.value}")
        for code in self.unknown_codes:
            if self.codes is not None and code not in self.codes:
                raise ValueError(f"column {self.name!r}: unknown code {code!r} is not in codes")
        return self

    @property
    def header_names(self) -> tuple[str, ...]:
        """Every header this column may arrive under, lower-cased."""
        return tuple(n.lower() for n in (self.name, *self.aliases))


class FileFormat(_Strict):
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"]
    delimiter: str = Field(min_length=1, max_length=1)
    decimal: Literal[".", ","] = "."
    date_format: str = "%Y-%m-%d"
    missing_values: tuple[str, ...] = ("", "NULL", "NA", "-", "Uppgift saknas")
    # a compressed delivery (recognised by its bytes, whatever its name) is refused unless allowed
    # here; zip: an archive holding exactly one file
    compression: Literal["none", "gzip", "zip"] = "none"


class Entity(_Strict):
    """One kind of file a registry delivers (e.g. deaths, dialysis starts, a reference extract)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    role: Literal["registrations", "reference", "optouts"] = "registrations"
    # regex over the file name; the named group `period` (YYYY, YYYY-MM) says what it covers
    file_pattern: str
    format: FileFormat | None = None
    event_date_column: str | None = None
    # rows whose event date lies outside the period in the file's name: loaded with a note in the
    # ledger (warn), or the whole file waits in quarantine (quarantine)
    outside_period: Literal["warn", "quarantine"] = "warn"
    registration_date_column: str | None = None
    # a status taken once a period for every patient (njur's yearly prevalence), not a registration
    # of an event: kept out of intermediate.int_registrations (frequency, timeliness, coverage)
    census: bool = False
    # columns that identify one registration; duplicates on them are rejected
    key_columns: tuple[str, ...] = ()
    # [earlier, later] date columns: a row where `later` precedes `earlier` is impossible
    date_order: tuple[tuple[str, str], ...] = ()
    columns: tuple[Column, ...] = Field(min_length=1)

    @field_validator("file_pattern")
    @classmethod
    def _pattern_compiles(cls, v: str) -> str:
        try:
            compiled = re.compile(v)
        except re.error as exc:
            raise ValueError(f"file_pattern is not a valid regular expression: {exc}") from exc
        if "period" not in compiled.groupindex:
            raise ValueError("file_pattern needs a named group (?P<period>...)")
        return v

    @model_validator(mode="after")
    def _references_exist(self):
        names = [c.name for c in self.columns]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"entity {self.name!r}: duplicate column names {sorted(dupes)}")
        for field in ("event_date_column", "registration_date_column"):
            ref = getattr(self, field)
            if ref is not None and ref not in names:
                raise ValueError(f"entity {self.name!r}: {field} {ref!r} is not a column")
        for ref in self.key_columns:
            if ref not in names:
                raise ValueError(f"entity {self.name!r}: key column {ref!r} is not a column")
        dates = {c.name for c in self.columns if c.type is ColumnType.DATE}
        for pair in self.date_order:
            for ref in pair:
                if ref not in dates:
                    raise ValueError(f"entity {self.name!r}: date_order names {ref!r}, "
                                     "which is not a date column")
        pnr = [c for c in self.columns if c.type is ColumnType.PERSONNUMMER]
        if len(pnr) != 1:
            raise ValueError(f"entity {self.name!r}: needs exactly one personnummer column")
        return self

    @property
    def pnr_column(self) -> Column:
        return next(c for c in self.columns if c.type is ColumnType.PERSONNUMMER)

    @property
    def raw_key_columns(self) -> list[str]:
        """The key as raw stores it: the personnummer column becomes the pseudonym, person_id."""
        return ["person_id" if k == self.pnr_column.name else k for k in self.key_columns]

    @property
    def unit_column(self) -> Column | None:
        return next((c for c in self.columns if c.type is ColumnType.UNIT), None)

    @property
    def file_names(self) -> list[str]:
        """The file pattern as a person reads it: `palliativ_dodsfall_YYYY-MM.csv`."""
        return readable_file_names(self.file_pattern)

    def match(self, filename: str) -> str | None:
        """The period a file covers if its name belongs to this entity, else None."""
        m = re.fullmatch(self.file_pattern, filename)
        return m.group("period") if m else None


_READABLE = [(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD"), (r"\d{4}-\d{2}", "YYYY-MM"), (r"\d{4}", "YYYY"),
             (r"\d{2}", "NN"), (r"\d+", "N"), (r"\d", "N"), (".*", "*"), (".+", "*")]


def readable_file_names(pattern: str) -> list[str]:
    """A file-name regex as the names it accepts, with alternatives spelled out one by one."""
    text = re.sub(r"\(\?P<\w+>", "(", pattern)
    for regex, shown in _READABLE:
        text = text.replace(regex, shown)
    alt = re.search(r"\((?:\?:)?([^()]*\|[^()]*)\)", text)
    if alt:
        return [name for option in alt.group(1).split("|")
                for name in readable_file_names(text[:alt.start()] + option + text[alt.end():])]
    return [re.sub(r"\\(.)", r"\1", re.sub(r"\((?:\?:)?|\)", "", text))]


class DropFolderSource(_Strict):
    kind: Literal["drop_folder"]
    # relative paths are resolved against REGBENCH_INBOX
    path: str


class SftpSource(_Strict):
    """The registry's SFTP server. Host, port, user, password or key and the server's host key come
    from the Airflow connection `conn_id` (Airflow's store, or AIRFLOW_CONN_<ID> in the environment)."""

    kind: Literal["sftp"]
    conn_id: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    remote_dir: str = "."


class HttpsSource(_Strict):
    """The registry's export endpoint: `url` lists the files as JSON; the token is the password of
    the Airflow connection `conn_id`."""

    kind: Literal["https"]
    conn_id: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    url: str = Field(pattern=r"^https?://")


Source = Annotated[DropFolderSource | SftpSource | HttpsSource, Field(discriminator="kind")]


class Contract(_Strict):
    registry_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    network: str
    contact_email: str
    source: Source
    format: FileFormat
    # share of rejected rows above which the whole file goes to quarantine
    reject_threshold_pct: float = Field(default=5.0, ge=0, le=100)
    entities: tuple[Entity, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_entities(self):
        names = [e.name for e in self.entities]
        if len(set(names)) != len(names):
            raise ValueError("entity names must be unique")
        return self

    @property
    def inbox_folder(self) -> str:
        """Folder under the inbox where this registry's files arrive (remote sources download there)."""
        return self.source.path if isinstance(self.source, DropFolderSource) else self.registry_id

    def entity(self, name: str) -> Entity:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(f"{self.registry_id} has no entity {name!r}")

    def format_of(self, entity: Entity) -> FileFormat:
        return entity.format or self.format

    def classify(self, filename: str) -> tuple[Entity, str] | None:
        """(entity, period) for a delivered file name, or None if it matches no entity."""
        for e in self.entities:
            period = e.match(filename)
            if period is not None:
                return e, period
        return None

    def raw_table(self, entity: Entity) -> str:
        return f"{self.registry_id}__{entity.name}"

    def staging_model(self, entity: Entity) -> str:
        """The dbt model that stages the entity: `stg_<registry>__<entity>` (models/staging/)."""
        return f"stg_{self.registry_id}__{entity.name}"

    @property
    def registration_entities(self) -> list[Entity]:
        """What intermediate.int_registrations unions: registrations of events, with their dates."""
        return [e for e in self.entities if e.role == "registrations" and not e.census
                and e.event_date_column and e.registration_date_column]

    @property
    def reference_entities(self) -> list[Entity]:
        """What intermediate.int_references unions: the reference-register extracts."""
        return [e for e in self.entities if e.role == "reference"]


def _field_path(loc: tuple, data: object) -> str:
    """`entities[dodsfall].columns[kon].type`: list items named by their `name` where they have one."""
    out = ""
    node = data
    for item in loc:
        if isinstance(item, int):
            node = node[item] if isinstance(node, list) and item < len(node) else None
            label = node.get("name", item) if isinstance(node, dict) else item
            out += f"[{label}]"
        else:
            node = node.get(item) if isinstance(node, dict) else None
            out += f".{item}" if out else str(item)
    return out


def load_contract(path: Path) -> Contract:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ContractError(f"{path}: a contract must be a YAML mapping")
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: invalid registry contract"]
        for err in exc.errors():
            where = _field_path(err["loc"], data) or "(top level)"
            lines.append(f"  field {where}: {err['msg']}")
        raise ContractError("\n".join(lines)) from None
    if contract.registry_id != path.stem:
        raise ContractError(
            f"{path}: field registry_id is {contract.registry_id!r} but the file is named "
            f"{path.name!r}; name the file <registry_id>.yaml"
        )
    return contract


def load_contracts(directory: Path) -> dict[str, Contract]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ContractError(f"{directory}: no registry contracts (*.yaml) found")
    return {c.registry_id: c for c in (load_contract(f) for f in files)}


def registry_names(directory: Path | None = None) -> dict[str, str]:
    """Registry id -> the name its contract gives it, for every contract (default: the configured
    contracts directory). The dashboards have one network dashboard per entry."""
    if directory is None:
        from regbench.config import get_settings

        directory = get_settings().contracts_dir
    return {rid: c.name for rid, c in load_contracts(directory).items()}
