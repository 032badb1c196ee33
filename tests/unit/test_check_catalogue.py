"""The check catalogue is the one list of data-quality checks: every check a stage runs is in it,
with the same Kahn category, and every catalogued check runs; docs/checks.md is its rendering."""

import ast
import inspect
from datetime import date
from pathlib import Path

import yaml

from regbench import audit, warehouse_checks
from regbench.check_catalogue import load, render_markdown
from regbench.contracts import load_contracts
from regbench.door_validation import suite_spec
from regbench.thresholds import DOOR_RULES, load_thresholds

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = load()


def _catalogued(stage: str) -> dict[str, str]:
    return {c.name: c.kahn_category for c in CATALOGUE if c.stage == stage}


def _calls(module, constructor: str) -> list[ast.Call]:
    tree = ast.parse(inspect.getsource(module))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", None) == constructor]


def test_the_door_runs_exactly_the_catalogued_checks():
    ran = set()
    for registry_id, contract in load_contracts(REPO / "registries").items():
        door = load_thresholds(REPO / "expectations", registry_id).door
        for entity in contract.entities:
            ran |= {(s.check, s.kahn_category) for s in suite_spec(contract, entity, date.today(), door)}
    door = [c for c in CATALOGUE if c.stage == "door"]
    assert {c.name for c in door} == {"columns_exist", *DOOR_RULES}
    assert {(c.implementation.removeprefix("GX "), c.kahn_category) for c in door} == ran


def test_the_warehouse_runs_exactly_the_catalogued_checks():
    # UnitCheck(registry, unit, check_name, kahn_category, ...) everywhere a result is made
    ran = {(c.args[2].value, c.args[3].value) for c in _calls(warehouse_checks, "UnitCheck")}
    assert ran == set(_catalogued("warehouse").items())


def test_the_audit_runs_exactly_the_catalogued_checks():
    ran = {(c.name, c.kahn_category) for c in audit.checks(5)}
    # the whole-release results of run_audit: (name, category, severity, "all", ...)
    for node in ast.walk(ast.parse(inspect.getsource(audit.run_audit))):
        if isinstance(node, ast.Tuple) and len(node.elts) == 6 and all(
                isinstance(e, ast.Constant) for e in node.elts[:4]) and node.elts[3].value == "all":
            ran.add((node.elts[0].value, node.elts[1].value))
    assert ran == set(_catalogued("audit").items())


def _dbt_test_kinds() -> set[str]:
    kinds: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("data_tests", "tests") and isinstance(value, list):
                    kinds.update(t if isinstance(t, str) else next(iter(t)) for t in value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    project = REPO / "dbt_project"
    for path in project.rglob("*.yml"):
        if not {"target", "dbt_packages", "logs"} & set(path.relative_to(project).parts):
            walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return kinds | {p.stem for p in (project / "tests").glob("*.sql")}


def test_dbt_runs_exactly_the_catalogued_tests():
    assert _dbt_test_kinds() == set(_catalogued("dbt"))


def test_every_catalogued_implementation_names_something_that_exists():
    for c in CATALOGUE:
        if c.implementation.startswith("dbt_project/"):
            assert (REPO / c.implementation).exists(), c.name
        elif c.implementation.startswith("regbench."):
            module, _, attr = c.implementation.split(" ")[0].rpartition(".")
            assert hasattr(__import__(module, fromlist=[attr]), attr), c.name


def test_the_docs_page_is_the_catalogue():
    page = REPO / "docs" / "checks.md"
    assert page.read_text(encoding="utf-8") == render_markdown(CATALOGUE), \
        "docs/checks.md is stale: python -m regbench.check_catalogue > docs/checks.md"
