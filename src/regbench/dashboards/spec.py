"""What the dashboards show, written once in Python and rendered into the YAML bundle in superset/.

One dashboard per network (the same layout for each registry), one for the registry managers and
one for the data engineers. Every dataset reads a `pub_` relation of the publication schema and
nothing else. UUIDs are derived from names (uuid5), so the bundle is stable between renders and
between Superset instances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

NAMESPACE = uuid.UUID("7d1f0c52-3a5e-4b8e-9f0e-5b1f2c3d4e60")
SCHEMA = "publication"
DATABASE_NAME = "regbench publication"

NETWORKS = {
    "palliativ": "Svenska palliativregistret",
    "njur": "Svenskt njurregister",
    "swedvasc": "Swedvasc",
    "blodcancer": "Blodcancerregistret",
}


def stable_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True)
class Dataset:
    name: str  # the pub_ table, or the name of a virtual dataset over pub_ tables
    sql: str | None = None
    main_dttm_col: str | None = None

    @property
    def uuid(self) -> str:
        return stable_uuid("dataset", self.name)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    viz_type: str
    dataset: Dataset
    params: dict
    columns: list = field(default_factory=list)  # what the saved query asks for (chart-data API)
    metrics: list = field(default_factory=list)
    width: int = 6
    height: int = 50

    @property
    def uuid(self) -> str:
        return stable_uuid("chart", self.key)


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    charts: list[Chart]
    filters: list[tuple[str, str, Dataset]]  # (label, column, dataset)
    registry_id: str | None = None  # a network dashboard belongs to one registry's role

    @property
    def uuid(self) -> str:
        return stable_uuid("dashboard", self.slug)


def metric(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label,
            "optionName": "metric_" + stable_uuid("metric", label + sql)[:8]}


def where(column: str, value: str) -> dict:
    return {"expressionType": "SIMPLE", "clause": "WHERE", "subject": column, "operator": "==",
            "comparator": value, "filterOptionName": "filter_" + stable_uuid("f", column + value)[:8]}


OVERVIEW = Dataset("pub_indicator_overview")
SPC = Dataset("pub_spc", main_dttm_col="period_start")
REGISTRATIONS = Dataset("pub_registrations", main_dttm_col="period_start")
COVERAGE = Dataset("pub_coverage")
FINDINGS = Dataset("pub_ops_unit_findings")
INGESTION = Dataset("pub_ops_ingestion", main_dttm_col="received_on")
DQ_RESULTS = Dataset("pub_ops_dq_results", main_dttm_col="checked_on")
FRESHNESS = Dataset("pub_ops_freshness")
# Funnel plot: the units of the latest rolling 12 months and the limit curves, one relation so
# one chart can draw both (points carry unit_rate, curve points carry the limits).
FUNNEL = Dataset(
    "funnel_latest",
    sql=f"""SELECT f.registry_id, f.indicator_id, f.unit_name, f.region_code, f.denominator,
       f.rate AS unit_rate,
       CAST(NULL AS DOUBLE PRECISION) AS lower_95, CAST(NULL AS DOUBLE PRECISION) AS upper_95,
       CAST(NULL AS DOUBLE PRECISION) AS lower_998, CAST(NULL AS DOUBLE PRECISION) AS upper_998,
       f.outlier_flag
FROM {SCHEMA}.pub_funnel AS f
WHERE f.period_grain = 'rolling_12m'
  AND f.period_start = (SELECT MAX(period_start) FROM {SCHEMA}.pub_funnel AS m
                        WHERE m.period_grain = 'rolling_12m' AND m.indicator_id = f.indicator_id)
UNION ALL
SELECT l.registry_id, l.indicator_id, NULL, NULL, l.denominator, NULL, l.lower_95, l.upper_95,
       l.lower_998, l.upper_998, NULL
FROM {SCHEMA}.pub_funnel_limits AS l
WHERE l.period_grain = 'rolling_12m'
  AND l.period_start = (SELECT MAX(period_start) FROM {SCHEMA}.pub_funnel_limits AS m
                        WHERE m.period_grain = 'rolling_12m' AND m.indicator_id = l.indicator_id)""",
)


def _network(registry_id: str, name: str) -> Dashboard:
    mine = [where("registry_id", registry_id)]
    overview_cols = ["indicator_name_sv", "unit_name", "region_code", "level", "rate_text",
                     "denominator_text", "target_level", "target_score", "dq_warning_checks"]
    charts = [
        Chart(
            f"{registry_id}_overview", "Indikatorer per enhet (senaste 12 månaderna)", "table",
            OVERVIEW, columns=overview_cols, width=12, height=70,
            params={
                "query_mode": "raw", "all_columns": overview_cols, "adhoc_filters": mine,
                "order_by_cols": ['["indicator_name_sv", true]', '["level", false]',
                                  '["unit_name", true]'],
                "row_limit": 10000, "server_pagination": False, "table_timestamp_format": "smart_date",
                "conditional_formatting": [
                    {"column": "target_score", "colorScheme": "#5AC189", "operator": "≥",
                     "targetValue": 1},
                    {"column": "target_score", "colorScheme": "#FF7F44", "operator": "<",
                     "targetValue": 0},
                ],
            },
        ),
        Chart(
            f"{registry_id}_funnel", "Trattdiagram: enheter mot 95 % och 99,8 % gränser",
            "echarts_timeseries_scatter", FUNNEL,
            columns=["denominator"],
            metrics=[metric("MAX(unit_rate)", "Enhet"), metric("MAX(lower_95)", "95 % nedre"),
                     metric("MAX(upper_95)", "95 % övre"), metric("MAX(lower_998)", "99,8 % nedre"),
                     metric("MAX(upper_998)", "99,8 % övre")],
            params={"x_axis": "denominator", "adhoc_filters": mine, "row_limit": 10000,
                    "y_axis_format": ".0%", "show_legend": True, "markerSize": 6,
                    "truncateYAxis": True, "x_axis_title": "Antal patienter (nämnare)",
                    "x_axis_title_margin": 30},
        ),
        Chart(
            f"{registry_id}_spc", "Trend per månad med styrgränser (p-diagram)",
            "echarts_timeseries_line", SPC, columns=["period_start"],
            metrics=[metric("AVG(rate)", "Andel"), metric("AVG(centre)", "Centrallinje"),
                     metric("AVG(lcl)", "Nedre styrgräns"), metric("AVG(ucl)", "Övre styrgräns")],
            params={"x_axis": "period_start", "time_grain_sqla": "P1M", "adhoc_filters": mine,
                    "row_limit": 10000, "y_axis_format": ".0%", "show_legend": True,
                    "time_range": "No filter"},
        ),
        Chart(
            f"{registry_id}_map", "Andel per region (senaste 12 månaderna)", "country_map",
            OVERVIEW, columns=["region_code"], metrics=[metric("AVG(rate)", "Andel")],
            params={"select_country": "sweden", "entity": "region_code",
                    "adhoc_filters": mine + [where("level", "region")],
                    "number_format": ".1%", "linear_color_scheme": "blue_white_yellow",
                    "row_limit": 100},
        ),
    ]
    charts[3].params["metric"] = charts[3].metrics[0]
    filters = [("Indikator", "indicator_id", OVERVIEW), ("Region", "region_code", OVERVIEW),
               ("Enhet", "unit_name", OVERVIEW)]
    return Dashboard(f"natverk-{registry_id}", f"{name}: förbättringsnätverket", charts, filters,
                     registry_id=registry_id)


def _registry_managers() -> Dashboard:
    charts = [
        Chart("rm_registrations_heatmap", "Registreringar per enhet och månad", "heatmap_v2",
              REGISTRATIONS, columns=["period_start", "unit_name"],
              metrics=[metric("SUM(registrations)", "Registreringar")], width=12, height=90,
              params={"x_axis": "period_start", "time_grain_sqla": "P1M", "groupby": "unit_name",
                      "metric": metric("SUM(registrations)", "Registreringar"),
                      "linear_color_scheme": "schemeBlues", "row_limit": 50000,
                      "normalize_across": "heatmap", "show_legend": True, "show_values": False,
                      "show_percentage": False, "value_bounds": [None, None],
                      "sort_x_axis": "alpha_asc", "sort_y_axis": "alpha_asc",
                      "y_axis_format": "SMART_NUMBER", "xscale_interval": None,
                      "yscale_interval": None, "left_margin": "auto", "bottom_margin": "auto",
                      "time_range": "No filter"}),
        Chart("rm_collapses", "Enheter vars registreringar har rasat", "table", REGISTRATIONS,
              columns=["registry_id", "unit_name", "period_start", "registrations",
                       "trailing_12m_median", "ratio_to_median"],
              params={"query_mode": "raw",
                      "all_columns": ["registry_id", "unit_name", "period_start", "registrations",
                                      "trailing_12m_median", "ratio_to_median"],
                      "adhoc_filters": [{"expressionType": "SQL", "clause": "WHERE",
                                         "sqlExpression": "collapse_signal",
                                         "filterOptionName": "filter_collapse"}],
                      "order_by_cols": ['["period_start", false]'], "row_limit": 1000,
                      "time_range": "No filter"}),
        Chart("rm_coverage", "Täckningsgrad per enhet och år", "pivot_table_v2", COVERAGE,
              columns=["unit_name", "event_year"], metrics=[metric("AVG(coverage)", "Täckningsgrad")],
              params={"groupbyRows": ["registry_id", "unit_name"], "groupbyColumns": ["event_year"],
                      "metrics": [metric("AVG(coverage)", "Täckningsgrad")],
                      "adhoc_filters": [where("level", "unit")], "valueFormat": ".0%",
                      "aggregateFunction": "Average", "row_limit": 10000}),
        Chart("rm_completeness", "Fullständighet och aktualitet: avvikelser per enhet", "table",
              FINDINGS,
              columns=["registry_id", "unit_id", "check_name", "column_name", "kahn_category",
                       "status", "observed_value", "threshold_value"],
              params={"query_mode": "raw",
                      "all_columns": ["registry_id", "unit_id", "check_name", "column_name",
                                      "kahn_category", "status", "observed_value",
                                      "threshold_value"],
                      "adhoc_filters": [where("status", "failed")], "row_limit": 5000}),
        Chart("rm_timeliness", "Tid från händelse till registrering (90:e percentilen, dagar)",
              "echarts_timeseries_line", REGISTRATIONS, columns=["period_start", "registry_id"],
              metrics=[metric("MAX(lag_p90_days)", "p90 dagar")],
              params={"x_axis": "period_start", "time_grain_sqla": "P1M",
                      "groupby": ["registry_id"], "row_limit": 10000, "time_range": "No filter",
                      "show_legend": True, "y_axis_format": "SMART_NUMBER",
                      "connectNulls": True}),
    ]
    filters = [("Register", "registry_id", REGISTRATIONS), ("Enhet", "unit_name", REGISTRATIONS)]
    return Dashboard("registerhallare", "Registerhållare: registrering, täckning, fullständighet",
                     charts, filters)


def _data_engineering() -> Dashboard:
    charts = [
        Chart("de_files", "Filer per register och natt", "echarts_timeseries_bar", INGESTION,
              columns=["received_on", "status"], metrics=[metric("SUM(files)", "Filer")],
              params={"x_axis": "received_on", "time_grain_sqla": "P1D", "groupby": ["status"],
                      "stack": "Stack", "row_limit": 10000, "time_range": "No filter"}),
        Chart("de_dq", "Datakvalitetskontroller per Kahn-kategori", "echarts_timeseries_bar",
              DQ_RESULTS, columns=["checked_on", "kahn_category"],
              metrics=[metric("SUM(checks)", "Kontroller")],
              params={"x_axis": "checked_on", "time_grain_sqla": "P1D",
                      "groupby": ["kahn_category", "status"], "stack": "Stack",
                      "row_limit": 10000, "time_range": "No filter"}),
        Chart("de_freshness", "Aktualitet per register", "table", FRESHNESS,
              columns=["registry_id", "last_received_at", "days_since_delivery",
                       "last_period_loaded", "files_in_quarantine", "files_received"],
              width=12, height=40,
              params={"query_mode": "raw",
                      "all_columns": ["registry_id", "last_received_at", "days_since_delivery",
                                      "last_period_loaded", "files_in_quarantine",
                                      "files_received"],
                      "row_limit": 100,
                      "conditional_formatting": [
                          {"column": "files_in_quarantine", "colorScheme": "#FF7F44",
                           "operator": ">", "targetValue": 0}]}),
    ]
    return Dashboard("datateknik", "Datateknik: inläsning, karantän, datakvalitet", charts,
                     [("Register", "registry_id", INGESTION)])


def dashboards() -> list[Dashboard]:
    return [_network(r, n) for r, n in NETWORKS.items()] + [_registry_managers(), _data_engineering()]
