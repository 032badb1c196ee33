"""The committed dashboards bundle reads only publication.pub_* and carries no instance ids; the
check that says so catches both kinds of mistake."""

import copy
import json
from pathlib import Path

from regbench.dashboards import bundle, spec

BUNDLE = Path(__file__).resolve().parents[2] / "superset"


def test_the_committed_bundle_passes_the_check():
    files = bundle.read(BUNDLE)
    assert bundle.problems(files) == []
    assert sum(n.startswith("dashboards/") for n in files) == len(spec.dashboards()) == 6


def test_every_chart_and_dashboard_of_the_spec_is_in_the_bundle_under_its_stable_uuid():
    files = bundle.read(BUNDLE)
    uuids = {data["uuid"] for data in files.values() if "uuid" in data}
    for dash in spec.dashboards():
        assert dash.uuid in uuids, dash.slug
        assert {c.uuid for c in dash.charts} <= uuids, dash.slug


def test_the_check_catches_a_dataset_outside_the_publication_layer():
    files = copy.deepcopy(bundle.read(BUNDLE))
    name = next(n for n in files if n.startswith("datasets/") and files[n]["sql"])
    files[name]["sql"] = "SELECT * FROM raw.njur__start"
    other = next(n for n in files if n.startswith("datasets/") and not files[n]["sql"])
    files[other]["schema"] = "staging"
    found = "\n".join(bundle.problems(files))
    assert "raw.njur__start" in found and "staging" in found


def test_the_check_catches_integer_ids_that_drift_between_instances():
    files = copy.deepcopy(bundle.read(BUNDLE))
    chart = next(n for n in files if n.startswith("charts/"))
    files[chart]["params"]["datasource"] = "17__table"
    qc = json.loads(files[chart]["query_context"])
    qc["datasource"] = {"id": 17, "type": "table"}
    files[chart]["query_context"] = json.dumps(qc)
    dash = next(n for n in files if n.startswith("dashboards/"))
    node = next(k for k in files[dash]["position"] if k.startswith("CHART-"))
    files[dash]["position"][node]["meta"]["chartId"] = 42
    found = bundle.problems(files)
    assert len(found) == 3, found


def test_the_bundle_never_carries_a_database_uri_or_password():
    files = bundle.read(BUNDLE)
    db = next(v for n, v in files.items() if n.startswith("databases/"))
    assert db["sqlalchemy_uri"] == bundle.URI_PLACEHOLDER
    assert "password" not in json.dumps(files).lower()
