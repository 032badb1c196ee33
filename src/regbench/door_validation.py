"""Great Expectations at the door: every parsed file is measured against a suite generated from its
registry's contract, so adding a registry needs no new Python.

Results hold counts only (BASIC with no partial lists): no value of a patient reaches the stored
results, the logs or the Data Docs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from regbench.contracts import ColumnType, Contract, Entity
from regbench.thresholds import Door

# Counts only: `partial_unexpected_count: 0` keeps GX from copying offending values (STACK.md).
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0,
                 "include_unexpected_rows": False}
SITE = "regbench"


@dataclass(frozen=True)
class CheckSpec:
    check: str
    column: str
    kahn_category: str
    severity: str
    threshold_pct: float
    kwargs: dict


@dataclass(frozen=True)
class CheckResult:
    registry_id: str
    entity: str
    file_id: str
    check: str
    column: str | None
    kahn_category: str
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    threshold_pct: float


def suite_spec(contract: Contract, entity: Entity, today: date,
               door: Door | None = None) -> list[CheckSpec]:
    """The checks a file of this entity must pass: the contract says what, the registry's
    thresholds file (`door:`) says how much may break and how badly that counts."""
    door = door or Door()
    specs: list[CheckSpec] = []

    def add(kind: str, check: str, column: str, category: str, **kwargs) -> None:
        rule = door.rule(kind, column)
        pct = contract.reject_threshold_pct if rule.max_violating_pct is None \
            else rule.max_violating_pct
        if pct > 0:
            kwargs["mostly"] = 1 - pct / 100
        specs.append(CheckSpec(check, column, category, rule.severity, pct, kwargs))

    for col in entity.columns:
        name = "person_id" if col.type is ColumnType.PERSONNUMMER else col.name
        if col.required:
            specs.append(CheckSpec("expect_column_to_exist", name, "conformance", "fatal", 0.0, {}))
            add("required_values", "expect_column_values_to_not_be_null", name, "completeness")
        if col.unknown_codes:
            add("unknown_codes", "expect_column_values_to_not_be_in_set", name, "completeness",
                value_set=sorted(col.unknown_codes))
        if col.type is ColumnType.CODE and col.codes:
            add("code_lists", "expect_column_values_to_be_in_set", name, "conformance",
                value_set=sorted(col.codes))
        if col.type in (ColumnType.DECIMAL, ColumnType.INTEGER) and (
            col.min is not None or col.max is not None
        ):
            add("ranges", "expect_column_values_to_be_between", name, "plausibility",
                min_value=col.min, max_value=col.max)
        if col.type is ColumnType.DATE:
            add("future_dates", "expect_column_values_to_be_between", name, "plausibility",
                max_value=datetime.combine(today, datetime.max.time()))
    return specs


class DoorValidator:
    """One GX file context per process; suites are rebuilt per entity and day, reused per file."""

    def __init__(self, gx_dir: Path):
        self.gx_dir = gx_dir
        self._ctx = None
        self._gx = None
        self._checkpoints: dict[tuple, tuple[object, list[CheckSpec]]] = {}
        # what this process validated: Data Docs render these pages, not every file ever seen
        self._validated: list = []

    @property
    def data_docs_dir(self) -> Path:
        return self.gx_dir / "data_docs"

    def _context(self):
        if self._ctx is None:
            logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            self.gx_dir.mkdir(parents=True, exist_ok=True)
            ctx = gx.get_context(mode="file", project_root_dir=str(self.gx_dir))
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            ctx.variables.save()
            sites = ctx.get_config().data_docs_sites or {}
            for name in [n for n in sites if n != SITE]:
                ctx.delete_data_docs_site(name)
            if SITE not in sites:
                ctx.add_data_docs_site(site_name=SITE, site_config={
                    "class_name": "SiteBuilder",
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                      "base_directory": str(self.data_docs_dir)},
                })
            self._ctx, self._gx = ctx, gx
        return self._ctx

    def _checkpoint(self, contract: Contract, entity: Entity, today: date, door: Door | None):
        key = (contract.registry_id, entity.name, today, door.model_dump_json() if door else None)
        if key in self._checkpoints:
            return self._checkpoints[key]
        ctx = self._context()
        gx = self._gx
        import great_expectations.expectations as gxe

        name = contract.raw_table(entity)
        source = ctx.data_sources.add_or_update_pandas("regbench_door")
        try:
            asset = source.get_asset(name)
        except LookupError:
            asset = source.add_dataframe_asset(name)
        try:
            batch = asset.get_batch_definition("file")
        except KeyError:
            batch = asset.add_batch_definition_whole_dataframe("file")
        specs = suite_spec(contract, entity, today, door)
        suite = gx.ExpectationSuite(name=name)
        for i, spec in enumerate(specs):
            cls = _expectation_class(gxe, spec.check)
            meta = {"spec": i, "kahn_category": spec.kahn_category, "severity": spec.severity}
            suite.add_expectation(cls(column=spec.column, meta=meta, **spec.kwargs))
        suite = ctx.suites.add_or_update(suite)
        definition = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        checkpoint = ctx.checkpoints.add_or_update(
            gx.Checkpoint(name=f"door_{name}", validation_definitions=[definition], actions=[],
                          result_format=RESULT_FORMAT)
        )
        # add_or_update_pandas above saved the data source anew, so every checkpoint built before
        # refers to a stale one and GX refuses to run it (CheckpointRelatedResourcesFreshnessError:
        # files of two entities taken in alternately were quarantined from the second switch on)
        self._checkpoints = {key: (checkpoint, specs)}
        return checkpoint, specs

    def validate(self, df: pd.DataFrame, contract: Contract, entity: Entity, *, file_id: str,
                 file_name: str, today: date, door: Door | None = None) -> list[CheckResult]:
        checkpoint, specs = self._checkpoint(contract, entity, today, door)
        run_id = self._gx.RunIdentifier(run_name=f"{file_name} {file_id[:12]}")
        outcome = checkpoint.run(batch_parameters={"dataframe": df.reset_index(drop=True)},
                                 run_id=run_id)
        (result_id, validation), = outcome.run_results.items()
        self._validated.append(result_id)
        results = []
        for er in validation.results:
            spec = specs[int(er.expectation_config.meta["spec"])]
            r = er.result or {}
            results.append(CheckResult(
                registry_id=contract.registry_id, entity=entity.name, file_id=file_id,
                check=spec.check, column=spec.column, kahn_category=spec.kahn_category,
                severity=spec.severity, success=bool(er.success),
                element_count=r.get("element_count"), unexpected_count=r.get("unexpected_count"),
                unexpected_percent=r.get("unexpected_percent"), threshold_pct=spec.threshold_pct,
            ))
        return results

    def build_data_docs(self) -> Path:
        """Pages for the suites and files of this run, and the index of all. Rendering every stored
        result again cost minutes a night once a registry had 30 years of monthly files."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        from regbench.data_docs_offline import make_offline

        index = self.data_docs_dir / "index.html"
        if not self._validated and index.exists():
            return index  # nothing new; an empty list would make GX render every page again
        suites = {r.expectation_suite_identifier.name for r in self._validated}
        started = time.time()
        self._context().build_data_docs(
            site_names=[SITE],
            resource_identifiers=[*self._validated, *map(ExpectationSuiteIdentifier, sorted(suites))],
        )
        make_offline(self.data_docs_dir, changed_since=started)
        return index


def _expectation_class(gxe, check: str):
    return getattr(gxe, "".join(part.capitalize() for part in check.split("_")))


def fatal_failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.success and r.severity == "fatal"]
