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
        markdown = [n["meta"]["code"] for k, n in dash["position"].items()
                    if isinstance(n, dict) and n.get("type") == "MARKDOWN" and k.endswith("-intro")]
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
        # (and "Vården i siffror", the name of the national comparison site the levels follow)
        swedish = [t for t in texts if re.search("[åäöÅÄÖ]", t.replace("På svenska", "")
                                                 .replace("Vården i siffror", ""))]
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
               if column not in columns[charts[chart.uuid]["dataset_uuid"]]
               and chart.key not in dash.filter_exempt.get(column, ())]
    assert missing == []
    # and a filter kept away from a chart on purpose really is (its dataset lacks the column)
    leaking = [(dash.slug, key, column) for dash in spec.dashboards()
               for column, keys in dash.filter_exempt.items() for key in keys
               for chart in dash.charts if chart.key == key
               and column in columns[charts[chart.uuid]["dataset_uuid"]]]
    assert leaking == []


def test_the_indicator_filter_offers_names_in_the_readers_language():
    for dash in spec.dashboards():
        if dash.registry_id:
            assert dash.filters[0][1] == f"indicator_name_{dash.lang}", dash.slug


def _network_files(registry_id: str = "njur", lang: str = "sv") -> tuple[dict, dict]:
    files = bundle.read(BUNDLE)
    suffix = "" if lang == "sv" else f"_{lang}"
    charts = {k.removeprefix(f"{registry_id}_").removesuffix(suffix): files[f"charts/{k}.yaml"]
              for k in (f"{registry_id}_{c}{suffix}" for c in ("overview", "funnel", "spc", "map"))}
    dash = _dashboards_by_slug(files)[spec.slug_for(f"natverk-{registry_id}", lang)]
    return charts, dash


@pytest.mark.parametrize("lang", spec.LANGUAGES)
def test_the_funnel_draws_limits_as_lines_and_units_as_named_points(lang):
    charts, dash = _network_files("palliativ", lang)
    p = charts["funnel"]["params"]
    assert p["viz_type"] == "mixed_timeseries" and p["x_axis"] == "denominator"
    # query A: four limit curves and the national proportion, continuous lines
    assert p["seriesType"] == "line" and p["groupby"] == [] and len(p["metrics"]) == 5
    assert {m["sqlExpression"] for m in p["metrics"]} == {
        "MAX(lower_95)", "MAX(upper_95)", "MAX(lower_998)", "MAX(upper_998)",
        "MAX(national_rate)"}
    # query B: the units as points, one series per unit named with the limit it is outside of
    assert p["seriesTypeB"] == "scatter" and p["rich_tooltip"] is False
    [unit] = p["groupby_b"]
    assert "unit_name" in unit["sqlExpression"] and "outlier_flag" in unit["sqlExpression"]
    assert spec.tr(" (utanför 99,8 %)", lang) in unit["sqlExpression"]
    # both queries in the saved query context, for the chart-data API
    qc = json.loads(charts["funnel"]["query_context"])
    assert len(qc["queries"]) == 2
    # a unit outside 99.8 % is red, outside 95 % orange, wherever the unit stands tonight
    colours = dash["metadata"]["label_colors"]
    name = "Njurmedicin, Danderyds sjukhus" if False else next(
        k for k in colours if k.endswith(spec.tr(" (utanför 99,8 %)", lang)))
    assert colours[name] == spec.FUNNEL_COLOURS["alarm"]
    assert colours[name.removesuffix(spec.tr(" (utanför 99,8 %)", lang))] == spec.FUNNEL_COLOURS["none"]
    assert colours[spec.tr("99,8 % övre", lang)] == spec.FUNNEL_COLOURS["alarm"]


def _filters(dash: dict) -> dict[str, dict]:
    return {f["targets"][0]["column"]["name"]: f for f in dash["metadata"]["native_filter_configuration"]}


@pytest.mark.parametrize("lang", spec.LANGUAGES)
def test_the_trend_shows_one_unit_with_limits_and_anhoej_signals(lang):
    charts, dash = _network_files("njur", lang)
    p = charts["spc"]["params"]
    assert p["viz_type"] == "mixed_timeseries" and p["seriesType"] == "line"
    assert {m["sqlExpression"] for m in p["metrics"]} == {
        "AVG(rate)", "AVG(centre)", "AVG(lcl)", "AVG(ucl)", "AVG(median_rate)"}
    # the points coloured by their verdict, the too-short series said in words
    assert p["seriesTypeB"] == "scatter"
    [verdict] = p["groupby_b"]
    for text in ("Punkt utanför styrgränserna", "Anhøj-signal: för få korsningar av medianen",
                 "För kort serie för serieregler (färre än 10 månader)"):
        assert spec.tr(text, lang) in verdict["sqlExpression"]
    # one unit at a time: its own filter, one value, required, preset to the first unit with a
    # trend for the preset indicator, both applied on load (Superset 6.1 leaves a "first item"
    # default unapplied, so the defaults are explicit)
    filters = _filters(dash)
    for column in ("trend_unit", f"indicator_name_{lang}"):
        control = filters[column]["controlValues"]
        assert control["multiSelect"] is False and control["enableEmptyFilter"] is True
        mask = filters[column]["defaultDataMask"]
        [value] = mask["filterState"]["value"]
        assert mask["extraFormData"]["filters"] == [{"col": column, "op": "IN", "val": [value]}]
    # and the table's unit filter (several units) does not reach the trend
    assert filters["unit_name"]["controlValues"]["multiSelect"] is True
    files = bundle.read(BUNDLE)
    spc_ds = next(d for d in files.values() if d.get("uuid") == charts["spc"]["dataset_uuid"])
    assert "unit_name" not in {c["column_name"] for c in spc_ds["columns"]}


def test_the_map_has_a_sequential_scale_that_the_dashboard_does_not_override():
    charts, dash = _network_files()
    assert charts["map"]["params"]["linear_color_scheme"] == "schemeBlues"
    # with a dashboard colour scheme Superset 6.1 colours the map's regions categorically
    assert dash["metadata"]["color_scheme"] is None
    assert "color_scheme" not in charts["map"]["params"]
    notes = [n["meta"]["code"] for k, n in dash["position"].items() if k.endswith("-notes")]
    assert "**Kartan**" in notes[0]


@pytest.mark.parametrize("lang", spec.LANGUAGES)
def test_the_target_level_is_words_in_colour_and_coverage_stands_beside_the_value(lang):
    charts, _ = _network_files("palliativ", lang)
    p = charts["overview"]["params"]
    labels = [c["label"] for c in p["all_columns"]]
    assert spec.tr("Målpoäng", lang) not in labels
    level = spec.tr("Måluppfyllelse", lang)
    assert labels.index(spec.tr("Täckningsgrad %", lang)) == labels.index(
        spec.tr("Antal patienter", lang)) + 1
    rules = {r["targetValue"]: r["colorScheme"] for r in p["conditional_formatting"]
             if r["column"] == level}
    assert rules == {spec.tr(w, lang): spec.LEVEL_COLOURS[k] for k, w in spec.TARGET_WORDS.items()}
    assert all(r["operator"] == "=" for r in p["conditional_formatting"])
    rank = next(c for c in p["all_columns"] if c["label"] == spec.tr("Rangordning", lang))
    assert "rankable = FALSE" in rank["sqlExpression"]
    # never sorted by value
    assert not any("rate" in o for o in p["order_by_cols"])


@pytest.mark.parametrize("lang", spec.LANGUAGES)
def test_every_indicator_is_explained_on_its_networks_dashboard(lang):
    import csv

    seed = BUNDLE.parent / "dbt_project" / "seeds" / "indicators.csv"
    rows = list(csv.DictReader(seed.open(encoding="utf-8")))
    assert {r["indicator_id"] for r in rows} == set(spec.INDICATOR_TEXTS)
    for registry_id in spec.NETWORKS:
        _, dash = _network_files(registry_id, lang)
        [notes] = [n["meta"]["code"] for k, n in dash["position"].items() if k.endswith("-notes")]
        for r in rows:
            if r["registry_id"] == registry_id:
                numerator, denominator = spec.INDICATOR_TEXTS[r["indicator_id"]]
                assert f"**{r[f'name_{lang}']}**" in notes
                assert spec.tr(numerator, lang) in notes and spec.tr(denominator, lang) in notes


def test_the_registry_managers_heatmap_shows_one_registry_with_readable_labels():
    files = bundle.read(BUNDLE)
    p = files["charts/rm_registrations_heatmap.yaml"]["params"]
    # months every few, units thinned only where they would overlap (-1: ECharts' auto)
    assert p["xscale_interval"] >= 1 and p["yscale_interval"] == -1
    assert p["x_axis_time_format"] == "%Y-%m" and p["x_axis_label_rotation"]
    registry = _filters(_dashboards_by_slug(files)["registerhallare"])["registry_id"]
    assert registry["controlValues"]["multiSelect"] is False
    assert registry["controlValues"]["enableEmptyFilter"] is True
