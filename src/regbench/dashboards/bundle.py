"""The dashboards bundle: render spec.py into Superset's asset YAML (superset/), check it, zip it.

The YAML in superset/ is what is reviewed and imported; `regbench dashboards render` rewrites it
from spec.py and a published DuckDB file (for the column list of every dataset). The database URI
in the bundle is a placeholder: deploy fills it in for the warehouse at hand, and passwords come
from the environment, never from the bundle.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import duckdb
import yaml

from regbench.dashboards import spec

DATABASE_UUID = spec.stable_uuid("database", spec.DATABASE_NAME)
URI_PLACEHOLDER = "regbench+publication://configured-at-deploy"
VERSION = "1.0.0"
_TIMESERIES = {"echarts_timeseries_line", "echarts_timeseries_bar", "echarts_timeseries_scatter"}


def _superset_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return "DOUBLE"
    return {"HUGEINT": "BIGINT"}.get(t, t)


def _columns(con: duckdb.DuckDBPyConnection, ds: spec.Dataset) -> list[dict]:
    sql = ds.sql or f"SELECT * FROM {spec.SCHEMA}.{ds.name}"
    described = con.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0").description
    cols = []
    for name, type_code, *_ in described:
        stype = _superset_type(str(type_code))
        cols.append({
            "column_name": name, "verbose_name": None, "is_dttm": stype in {"DATE", "TIMESTAMP"},
            "is_active": True, "type": stype, "advanced_data_type": None, "groupby": True,
            "filterable": True, "expression": None, "description": None,
            "python_date_format": None, "extra": None,
        })
    return cols


def _dataset_yaml(con, ds: spec.Dataset) -> dict:
    return {
        "table_name": ds.name, "main_dttm_col": ds.main_dttm_col, "description": None,
        "default_endpoint": None, "offset": 0, "cache_timeout": None, "catalog": None,
        "schema": spec.SCHEMA, "sql": ds.sql, "params": None, "template_params": None,
        "filter_select_enabled": True, "fetch_values_predicate": None, "extra": None,
        "normalize_columns": False, "always_filter_main_dttm": False,
        "uuid": ds.uuid, "metrics": [{
            "metric_name": "count", "verbose_name": "Antal rader", "metric_type": "count",
            "expression": "COUNT(*)", "description": None, "d3format": None, "currency": None,
            "extra": None, "warning_text": None}],
        "columns": _columns(con, ds), "version": VERSION, "database_uuid": DATABASE_UUID,
    }


def _query_filters(adhoc: list[dict]) -> tuple[list[dict], str]:
    simple, sql = [], []
    for f in adhoc:
        if f["expressionType"] == "SIMPLE":
            simple.append({"col": f["subject"], "op": f["operator"], "val": f["comparator"]})
        else:
            sql.append(f"({f['sqlExpression']})")
    return simple, " AND ".join(sql)


def _query(columns: list, metrics: list, adhoc: list, row_limit: int) -> dict:
    filters, where_sql = _query_filters(adhoc)
    return {
        "columns": columns, "metrics": metrics, "filters": filters,
        "extras": {"where": where_sql, "having": ""}, "orderby": [],
        "row_limit": row_limit, "annotation_layers": [],
        "url_params": {}, "custom_params": {}, "custom_form_data": {},
    }


def _chart_yaml(chart: spec.Chart) -> dict:
    params = {"viz_type": chart.viz_type, **chart.params}
    if chart.viz_type in _TIMESERIES or chart.viz_type == "mixed_timeseries":
        params["metrics"] = chart.metrics
    if chart.viz_type == "mixed_timeseries":
        params["metrics_b"] = chart.metrics_b
        params.setdefault("adhoc_filters_b", [])
    params.setdefault("adhoc_filters", [])
    # The saved query the chart-data API runs (a mixed chart's two); the importer fills in the
    # dataset's id.
    queries = [_query(chart.columns, chart.metrics, params["adhoc_filters"],
                      params.get("row_limit", 10000))]
    if chart.viz_type == "mixed_timeseries":
        queries.append(_query(chart.columns_b, chart.metrics_b, params["adhoc_filters_b"],
                              params.get("row_limit_b", 10000)))
    query_context = {
        "force": False, "result_format": "json", "result_type": "full",
        "queries": queries, "form_data": params,
    }
    return {
        "slice_name": chart.title, "description": None, "certified_by": None,
        "certification_details": None, "viz_type": chart.viz_type, "params": params,
        "query_context": json.dumps(query_context, ensure_ascii=False, sort_keys=True),
        "cache_timeout": None, "uuid": chart.uuid, "version": VERSION,
        "dataset_uuid": chart.dataset.uuid,
    }


def intro_markdown(dash: spec.Dashboard) -> str:
    links = " · ".join(f"[{spec.LANGUAGE_LINKS[lang]}](/superset/dashboard/{slug}/)"
                       for lang, slug in dash.twins.items())
    return f"{dash.intro}\n\n**{links}**"


def _position(dash: spec.Dashboard) -> dict:
    pos: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"children": ["GRID_ID"], "id": "ROOT_ID", "type": "ROOT"},
        "GRID_ID": {"children": [], "id": "GRID_ID", "parents": ["ROOT_ID"], "type": "GRID"},
        "HEADER_ID": {"id": "HEADER_ID", "meta": {"text": dash.title}, "type": "HEADER"},
    }
    # the first row: what the dashboard shows, and the link to it in the other language(s)
    intro = f"MARKDOWN-{dash.slug}-intro"
    pos[f"ROW-{dash.slug}-0"] = {"children": [intro], "id": f"ROW-{dash.slug}-0",
                                 "meta": {"background": "BACKGROUND_TRANSPARENT"},
                                 "parents": ["ROOT_ID", "GRID_ID"], "type": "ROW"}
    pos["GRID_ID"]["children"].append(f"ROW-{dash.slug}-0")
    pos[intro] = {"children": [], "id": intro, "parents": ["ROOT_ID", "GRID_ID", f"ROW-{dash.slug}-0"],
                  "meta": {"code": intro_markdown(dash), "height": 10, "width": 12},
                  "type": "MARKDOWN"}
    row, used, n = None, 12, 0
    for chart in dash.charts:
        if used + chart.width > 12:
            n += 1
            row = f"ROW-{dash.slug}-{n}"
            pos[row] = {"children": [], "id": row, "meta": {"background": "BACKGROUND_TRANSPARENT"},
                        "parents": ["ROOT_ID", "GRID_ID"], "type": "ROW"}
            pos["GRID_ID"]["children"].append(row)
            used = 0
        node = f"CHART-{chart.key}"
        pos[node] = {"children": [], "id": node, "parents": ["ROOT_ID", "GRID_ID", row],
                     # chartId is required by the importer and replaced by it; 0 is no instance's id
                     "meta": {"chartId": 0, "height": chart.height, "width": chart.width,
                              "sliceName": chart.title, "uuid": chart.uuid},
                     "type": "CHART"}
        pos[row]["children"].append(node)
        used += chart.width
    if dash.notes:
        # how to read the charts and what each indicator counts: beside the last chart when the
        # row has room, else below
        notes = f"MARKDOWN-{dash.slug}-notes"
        if used > 6:
            n += 1
            row = f"ROW-{dash.slug}-{n}"
            pos[row] = {"children": [], "id": row,
                        "meta": {"background": "BACKGROUND_TRANSPARENT"},
                        "parents": ["ROOT_ID", "GRID_ID"], "type": "ROW"}
            pos["GRID_ID"]["children"].append(row)
            used = 0
        pos[row]["children"].append(notes)
        pos[notes] = {"children": [], "id": notes, "parents": ["ROOT_ID", "GRID_ID", row],
                      "meta": {"code": dash.notes, "height": dash.charts[-1].height,
                               "width": 12 - used},
                      "type": "MARKDOWN"}
    return pos


def _filter_id(dash: spec.Dashboard, column: str) -> str:
    return f"NATIVE_FILTER-{spec.stable_uuid('filter', dash.slug + column)[:12]}"


def _dashboard_yaml(dash: spec.Dashboard, label_colors: dict | None = None,
                    defaults: dict | None = None) -> dict:
    native = []
    defaults = defaults or {}
    for label, column, ds in dash.filters:
        # one indicator at a time: a funnel or a trend mixing indicators means nothing; one unit
        # in a trend, one registry in the registry managers' heatmap
        one = column.startswith("indicator_") or column in dash.single_filters
        parent = dash.cascade.get(column)
        # Superset 6.1 selects "first item" defaults but leaves them unapplied (the charts load
        # unfiltered, mixing indicators and units): a required filter gets its first value as an
        # explicit default, chosen at render from the published file
        default = defaults.get(column) if one else None
        mask = ({"extraFormData": {"filters": [{"col": column, "op": "IN", "val": [default]}]},
                 "filterState": {"value": [default], "label": default}, "ownState": {}}
                if default is not None else {"extraFormData": {}, "filterState": {}, "ownState": {}})
        native.append({
            "id": _filter_id(dash, column),
            "name": label, "filterType": "filter_select", "type": "NATIVE_FILTER",
            "targets": [{"column": {"name": column}, "datasetUuid": ds.uuid}],
            "controlValues": {"enableEmptyFilter": one,
                              "defaultToFirstItem": one and default is None,
                              "multiSelect": not one, "searchAllOptions": False,
                              "inverseSelection": False},
            # a network's dashboard offers its own indicators and units, also to the admin
            **({"adhoc_filters": [spec.where("registry_id", dash.registry_id)]}
               if dash.registry_id else {}),
            "defaultDataMask": mask,
            "cascadeParentIds": [_filter_id(dash, parent)] if parent else [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "description": "",
        })
    return {
        "dashboard_title": dash.title, "description": None, "css": None, "slug": dash.slug,
        "certified_by": None, "certification_details": None, "published": True,
        "uuid": dash.uuid, "version": VERSION, "position": _position(dash),
        "metadata": {
            "color_scheme": dash.color_scheme, "refresh_frequency": 0,
            "expanded_slices": {}, "label_colors": {**dash.label_colors, **(label_colors or {})},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False, "default_filters": "{}",
            "native_filter_configuration": native, "shared_label_colors": [],
            "chart_configuration": {}, "global_chart_configuration": {},
        },
    }


def _database_yaml() -> dict:
    return {
        "database_name": spec.DATABASE_NAME, "sqlalchemy_uri": URI_PLACEHOLDER,
        "cache_timeout": None, "expose_in_sqllab": False, "allow_run_async": False,
        "allow_ctas": False, "allow_cvas": False, "allow_dml": False, "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "engine_params": {}},
        "uuid": DATABASE_UUID, "version": VERSION,
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def render_files(published_duckdb: Path) -> dict[str, dict]:
    dashboards = spec.dashboards()
    files: dict[str, dict] = {
        "metadata.yaml": {"version": VERSION, "type": "assets",
                          "timestamp": "2026-01-01T00:00:00+00:00"},
        f"databases/{_slug(spec.DATABASE_NAME)}.yaml": _database_yaml(),
    }
    datasets = {c.dataset.name: c.dataset for d in dashboards for c in d.charts}
    datasets.update({ds.name: ds for d in dashboards for _, _, ds in d.filters})
    con = duckdb.connect(str(published_duckdb), read_only=True)
    try:
        for ds in datasets.values():
            files[f"datasets/{_slug(spec.DATABASE_NAME)}/{ds.name}.yaml"] = _dataset_yaml(con, ds)
        # the units of each network (the units seed, published), for the funnel's colours
        units: dict[str, list[str]] = {}
        for registry_id, unit_name in con.execute(
                f"SELECT DISTINCT registry_id, unit_name FROM {spec.SCHEMA}.pub_units"
                " WHERE unit_name IS NOT NULL ORDER BY 1, 2").fetchall():
            units.setdefault(registry_id, []).append(unit_name)
        defaults = {d.slug: _filter_defaults(con, d) for d in dashboards}
    finally:
        con.close()
    for d in dashboards:
        for c in d.charts:
            files[f"charts/{c.key}.yaml"] = _chart_yaml(c)
        colours = (spec.network_label_colors(units.get(d.registry_id, []), d.lang)
                   if d.registry_id else {})
        files[f"dashboards/{d.slug}.yaml"] = _dashboard_yaml(d, colours, defaults[d.slug])
    return files


def _filter_defaults(con: duckdb.DuckDBPyConnection, dash: spec.Dashboard) -> dict:
    """The first value of each required filter of a network: its first indicator by name and
    the first unit with a trend of at least 10 months for it (else the first with any)."""
    out: dict = {}
    s = spec.SCHEMA
    if dash.registry_id:
        name = f"indicator_name_{dash.lang}"
        row = con.execute(f"SELECT MIN({name}) FROM {s}.pub_indicator_overview"
                          " WHERE registry_id = ?", [dash.registry_id]).fetchone()
        if row and row[0] is not None:
            out[name] = row[0]
            # the first unit whose series is long enough for run rules, else the first unit
            unit = con.execute(
                f"SELECT unit_name FROM {s}.pub_spc WHERE registry_id = ? AND {name} = ?"
                f" GROUP BY unit_name ORDER BY COUNT(*) < {spec.MIN_RUN_POINTS}, unit_name"
                " LIMIT 1", [dash.registry_id, row[0]]).fetchone()
            if unit and unit[0] is not None:
                out["trend_unit"] = unit[0]
    # the registry managers' registry filter keeps "first item": a manager's role sees one
    # registry (row-level security), so a fixed registry would be another's and empty every chart
    return out


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write(files: dict[str, dict], root: Path) -> None:
    for old in root.rglob("*.yaml"):
        old.unlink()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(data), encoding="utf-8")


def read(root: Path) -> dict[str, dict]:
    files = {str(p.relative_to(root)): yaml.safe_load(p.read_text(encoding="utf-8"))
             for p in sorted(root.rglob("*.yaml"))}
    if "metadata.yaml" not in files:
        raise FileNotFoundError(f"{root} holds no dashboards bundle (no metadata.yaml)")
    return files


_RELATION = re.compile(r"\b(?:from|join)\s+([a-z_][\w.]*)", re.IGNORECASE)
_INT_ID_KEYS = {"id", "chartId", "datasource_id", "datasetId", "dashboard_id", "slice_id",
                "database_id", "chartsInScope", "datasource"}


def problems(files: dict[str, dict]) -> list[str]:
    """What must never be in the bundle: relations outside the publication layer, integer ids."""
    found: list[str] = []
    for name, data in files.items():
        if name.startswith("datasets/"):
            if data.get("schema") != spec.SCHEMA:
                found.append(f"{name}: schema {data.get('schema')!r}, only {spec.SCHEMA!r} is allowed")
            refs = [data["table_name"]] if not data.get("sql") else _RELATION.findall(data["sql"])
            for ref in refs:
                table = ref.split(".")[-1]
                if not table.startswith("pub_") or ("." in ref and not ref.startswith(spec.SCHEMA + ".")):
                    found.append(f"{name}: reads {ref}, dashboards may read only {spec.SCHEMA}.pub_*")
        found.extend(f"{name}: {path} holds an instance id ({value!r})"
                     for path, value in _integer_ids(data))
        if name.startswith("databases/") and data.get("sqlalchemy_uri") != URI_PLACEHOLDER:
            found.append(f"{name}: sqlalchemy_uri must be the placeholder; deploy sets it")
    return found


def _integer_ids(node, path: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}.{k}" if path else str(k)
            if k in _INT_ID_KEYS and (isinstance(v, int) and not isinstance(v, bool) and v != 0
                                      or isinstance(v, list) and any(isinstance(x, int) for x in v)
                                      or isinstance(v, str) and re.fullmatch(r"\d+__\w+", v)):
                out.append((here, v))
            out.extend(_integer_ids(v, here))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_integer_ids(v, f"{path}[{i}]"))
    elif isinstance(node, str) and path.endswith("query_context"):
        out.extend(_integer_ids(json.loads(node), path))
    return out


def to_zip(files: dict[str, dict], sqlalchemy_uri: str, engine_params: dict,
           live_schema: str = spec.SCHEMA) -> bytes:
    """The bundle as Superset imports it; `live_schema` is where readers find the publication
    (the published file's `publication` on DuckDB, the `published` views on PostgreSQL)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            if name.startswith("databases/"):
                extra = {**data["extra"], "engine_params": engine_params}
                data = {**data, "sqlalchemy_uri": sqlalchemy_uri, "extra": extra}
            if name.startswith("datasets/") and live_schema != spec.SCHEMA:
                sql = data.get("sql")
                if sql:
                    sql = re.sub(rf"\b{spec.SCHEMA}\.", f"{live_schema}.", sql)
                data = {**data, "schema": live_schema, "sql": sql}
            z.writestr(f"regbench_bundle/{name}", dump(data))
    return buf.getvalue()
