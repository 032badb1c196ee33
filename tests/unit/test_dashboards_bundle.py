"""The committed dashboards bundle reads only publication.pub_* and carries no instance ids; the
check that says so catches both kinds of mistake. Every dashboard exists in Swedish and English,
each linking to the other."""

import copy
import json
import re
from pathlib import Path

import pytest

from regbench.dashboards import bundle, spec

BUNDLE = Path(__file__).resolve().parents[2] / "superset"


def test_the_committed_bundle_passes_the_check():
    files = bundle.read(BUNDLE)
    assert bundle.problems(files) == []
    assert sum(n.startswith("dashboards/") for n in files) == len(spec.dashboards()) == 12


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


def _dashboards_by_slug(files: dict) -> dict[str, dict]:
    return {d["slug"]: d for n, d in files.items() if n.startswith("dashboards/")}


def test_every_dashboard_has_an_english_twin_with_its_own_uuids():
    sv = {d.family: d for d in spec.dashboards() if d.lang == "sv"}
    en = {d.family: d for d in spec.dashboards() if d.lang == "en"}
    assert set(sv) == set(en) and len(sv) == 6
    for family, swedish in sv.items():
        english = en[family]
        assert (swedish.slug, english.slug) == (family, f"{family}-en")
        assert english.registry_id == swedish.registry_id
        assert [c.viz_type for c in english.charts] == [c.viz_type for c in swedish.charts]
        assert ([f[1].removesuffix("_en") for f in english.filters]
                == [f[1].removesuffix("_sv") for f in swedish.filters])
    everything = [d.uuid for d in spec.dashboards()] + [c.uuid for d in spec.dashboards()
                                                        for c in d.charts]
    assert len(everything) == len(set(everything)) == 12 + 48


def test_each_dashboard_links_to_its_twin_and_the_twin_is_in_the_bundle():
    dashboards = _dashboards_by_slug(bundle.read(BUNDLE))
    for slug, dash in dashboards.items():
        twin = slug.removesuffix("-en") if slug.endswith("-en") else f"{slug}-en"
        markdown = [n["meta"]["code"] for n in dash["position"].values()
                    if isinstance(n, dict) and n.get("type") == "MARKDOWN"]
        assert len(markdown) == 1, slug
        assert f"](/superset/dashboard/{twin}/)" in markdown[0], slug
        assert twin in dashboards


def _texts(chart_or_dash: dict) -> list[str]:
    """Everything a reader of the dashboard sees that the spec wrote (not the data's values)."""
    if "slice_name" in chart_or_dash:
        p = chart_or_dash["params"]
        texts = [chart_or_dash["slice_name"], p.get("x_axis_title", "")]
        for c in p.get("all_columns", []) + p.get("groupbyRows", []) + p.get("groupbyColumns", []):
            texts.append(c["label"] if isinstance(c, dict) else c)
        metrics = list(p.get("metrics", [])) + ([p["metric"]] if "metric" in p else [])
        texts += [m["label"] for m in metrics]
        return texts
    meta = chart_or_dash["metadata"]
    return ([chart_or_dash["dashboard_title"]]
            + [f["name"] for f in meta["native_filter_configuration"]]
            + [n["meta"]["code"] for n in chart_or_dash["position"].values()
               if isinstance(n, dict) and n.get("type") == "MARKDOWN"])


def test_the_english_dashboards_carry_no_swedish_text():
    files = bundle.read(BUNDLE)
    by_uuid = {d["uuid"]: d for d in files.values() if "uuid" in d}
    for dash in spec.dashboards(("en",)):
        texts = _texts(by_uuid[dash.uuid])
        for chart in dash.charts:
            texts += _texts(by_uuid[chart.uuid])
        # the link back is the only Swedish on an English dashboard
        swedish = [t for t in texts if re.search("[åäöÅÄÖ]", t.replace("På svenska", ""))]
        assert swedish == [], dash.slug
        assert not any(t in spec.ENGLISH and spec.ENGLISH[t] != t for t in texts), dash.slug


def test_the_english_network_table_shows_english_indicator_names_and_no_riket():
    files = bundle.read(BUNDLE)
    for registry_id in spec.NETWORKS:
        params = files[f"charts/{registry_id}_overview_en.yaml"]["params"]
        exprs = {c["label"]: c["sqlExpression"] for c in params["all_columns"]}
        assert exprs["Indicator"] == "indicator_name_en"
        assert "'Sweden'" in exprs["Unit"]
        assert {f["column"] for f in params["conditional_formatting"]} <= set(exprs)
        sv = files[f"charts/{registry_id}_overview.yaml"]["params"]
        assert {c["label"]: c["sqlExpression"] for c in sv["all_columns"]}["Indikator"] == \
            "indicator_name_sv"


def test_a_text_without_english_fails_the_render():
    with pytest.raises(KeyError, match="ENGLISH"):
        spec.tr("Ny rubrik utan översättning", "en")


def test_every_filter_of_a_dashboard_reaches_each_of_its_charts():
    """A native filter narrows a chart only when the chart's dataset has the filter's column;
    otherwise Superset drops it silently and the chart shows every indicator or unit mixed."""
    files = bundle.read(BUNDLE)
    columns = {d["uuid"]: {c["column_name"] for c in d["columns"]}
               for n, d in files.items() if n.startswith("datasets/")}
    charts = {d["uuid"]: d for n, d in files.items() if n.startswith("charts/")}
    missing = [(dash.slug, chart.key, column)
               for dash in spec.dashboards() for chart in dash.charts for _, column, _ in dash.filters
               if column not in columns[charts[chart.uuid]["dataset_uuid"]]]
    assert missing == []


def test_the_indicator_filter_offers_names_in_the_readers_language():
    for dash in spec.dashboards():
        if dash.registry_id:
            assert dash.filters[0][1] == f"indicator_name_{dash.lang}", dash.slug
