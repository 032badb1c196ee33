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
    audience: str = "network"  # network | managers | engineers: who may open it
    lang: str = "sv"

    @property
    def uuid(self) -> str:
        return stable_uuid("dashboard", self.slug)


# Swedish is the dashboards' language; every dashboard also exists in English (slug suffix -en),
# with the same charts over the same datasets. Only what a reader sees is translated.
LANGUAGES = ("sv", "en")


def _t(lang: str, sv: str, en: str) -> str:
    return sv if lang == "sv" else en


def _suffix(lang: str, sep: str) -> str:
    return "" if lang == "sv" else f"{sep}{lang}"


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


def _network(registry_id: str, name: str, lang: str = "sv") -> Dashboard:
    mine = [where("registry_id", registry_id)]
    key = f"{registry_id}{_suffix(lang, '_')}"
    overview_cols = [f"indicator_name_{lang}", "unit_name", "region_code", "level", "rate_text",
                     "denominator_text", "target_level", "target_score", "dq_warning_checks"]
    charts = [
        Chart(
            f"{key}_overview",
            _t(lang, "Indikatorer per enhet (senaste 12 månaderna)",
               "Indicators per unit (last 12 months)"), "table",
            OVERVIEW, columns=overview_cols, width=12, height=70,
            params={
                "query_mode": "raw", "all_columns": overview_cols, "adhoc_filters": mine,
                "order_by_cols": [f'["indicator_name_{lang}", true]', '["level", false]',
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
            f"{key}_funnel",
            _t(lang, "Trattdiagram: enheter mot 95 % och 99,8 % gränser",
               "Funnel plot: units against the 95 % and 99.8 % limits"),
            "echarts_timeseries_scatter", FUNNEL,
            columns=["denominator"],
            metrics=[metric("MAX(unit_rate)", _t(lang, "Enhet", "Unit")),
                     metric("MAX(lower_95)", _t(lang, "95 % nedre", "95 % lower")),
                     metric("MAX(upper_95)", _t(lang, "95 % övre", "95 % upper")),
                     metric("MAX(lower_998)", _t(lang, "99,8 % nedre", "99.8 % lower")),
                     metric("MAX(upper_998)", _t(lang, "99,8 % övre", "99.8 % upper"))],
            params={"x_axis": "denominator", "adhoc_filters": mine, "row_limit": 10000,
                    "y_axis_format": ".0%", "show_legend": True, "markerSize": 6,
                    "truncateYAxis": True, "x_axis_title": _t(lang, "Antal patienter (nämnare)",
                                                         "Patients (denominator)"),
                    "x_axis_title_margin": 30},
        ),
        Chart(
            f"{key}_spc",
            _t(lang, "Trend per månad med styrgränser (p-diagram)",
               "Monthly trend with control limits (p-chart)"),
            "echarts_timeseries_line", SPC, columns=["period_start"],
            metrics=[metric("AVG(rate)", _t(lang, "Andel", "Rate")),
                     metric("AVG(centre)", _t(lang, "Centrallinje", "Centre line")),
                     metric("AVG(lcl)", _t(lang, "Nedre styrgräns", "Lower control limit")),
                     metric("AVG(ucl)", _t(lang, "Övre styrgräns", "Upper control limit"))],
            params={"x_axis": "period_start", "time_grain_sqla": "P1M", "adhoc_filters": mine,
                    "row_limit": 10000, "y_axis_format": ".0%", "show_legend": True,
                    "time_range": "No filter"},
        ),
        Chart(
            f"{key}_map",
            _t(lang, "Andel per region (senaste 12 månaderna)", "Rate per region (last 12 months)"),
            "country_map", OVERVIEW, columns=["region_code"],
            metrics=[metric("AVG(rate)", _t(lang, "Andel", "Rate"))],
            params={"select_country": "sweden", "entity": "region_code",
                    "adhoc_filters": mine + [where("level", "region")],
                    "number_format": ".1%", "linear_color_scheme": "blue_white_yellow",
                    "row_limit": 100},
        ),
    ]
    charts[3].params["metric"] = charts[3].metrics[0]
    filters = [(_t(lang, "Indikator", "Indicator"), "indicator_id", OVERVIEW),
               ("Region", "region_code", OVERVIEW), (_t(lang, "Enhet", "Unit"), "unit_name", OVERVIEW)]
    return Dashboard(f"natverk-{registry_id}{_suffix(lang, '-')}",
                     _t(lang, f"{name}: förbättringsnätverket", f"{name}: improvement network"),
                     charts, filters, registry_id=registry_id, lang=lang)


def _registry_managers(lang: str = "sv") -> Dashboard:
    k = _suffix(lang, "_")
    registrations = metric("SUM(registrations)", _t(lang, "Registreringar", "Registrations"))
    coverage = metric("AVG(coverage)", _t(lang, "Täckningsgrad", "Coverage"))
    charts = [
        Chart(f"rm_registrations_heatmap{k}",
              _t(lang, "Registreringar per enhet och månad", "Registrations per unit and month"),
              "heatmap_v2", REGISTRATIONS, columns=["period_start", "unit_name"],
              metrics=[registrations], width=12, height=90,
              params={"x_axis": "period_start", "time_grain_sqla": "P1M", "groupby": "unit_name",
                      "metric": registrations,
                      "linear_color_scheme": "schemeBlues", "row_limit": 50000,
                      "normalize_across": "heatmap", "show_legend": True, "show_values": False,
                      "show_percentage": False, "value_bounds": [None, None],
                      "sort_x_axis": "alpha_asc", "sort_y_axis": "alpha_asc",
                      "y_axis_format": "SMART_NUMBER", "xscale_interval": None,
                      "yscale_interval": None, "left_margin": "auto", "bottom_margin": "auto",
                      "time_range": "No filter"}),
        Chart(f"rm_collapses{k}",
              _t(lang, "Enheter vars registreringar har rasat", "Units whose registrations collapsed"),
              "table", REGISTRATIONS,
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
        Chart(f"rm_coverage{k}",
              _t(lang, "Täckningsgrad per enhet och år", "Coverage per unit and year"),
              "pivot_table_v2", COVERAGE, columns=["unit_name", "event_year"], metrics=[coverage],
              params={"groupbyRows": ["registry_id", "unit_name"], "groupbyColumns": ["event_year"],
                      "metrics": [coverage],
                      "adhoc_filters": [where("level", "unit")], "valueFormat": ".0%",
                      "aggregateFunction": "Average", "row_limit": 10000}),
        Chart(f"rm_completeness{k}",
              _t(lang, "Fullständighet och aktualitet: avvikelser per enhet",
                 "Completeness and timeliness: findings per unit"), "table", FINDINGS,
              columns=["registry_id", "unit_id", "check_name", "column_name", "kahn_category",
                       "status", "observed_value", "threshold_value"],
              params={"query_mode": "raw",
                      "all_columns": ["registry_id", "unit_id", "check_name", "column_name",
                                      "kahn_category", "status", "observed_value",
                                      "threshold_value"],
                      "adhoc_filters": [where("status", "failed")], "row_limit": 5000}),
        Chart(f"rm_timeliness{k}",
              _t(lang, "Tid från händelse till registrering (90:e percentilen, dagar)",
                 "Days from event to registration (90th percentile)"),
              "echarts_timeseries_line", REGISTRATIONS, columns=["period_start", "registry_id"],
              metrics=[metric("MAX(lag_p90_days)", _t(lang, "p90 dagar", "p90 days"))],
              params={"x_axis": "period_start", "time_grain_sqla": "P1M",
                      "groupby": ["registry_id"], "row_limit": 10000, "time_range": "No filter",
                      "show_legend": True, "y_axis_format": "SMART_NUMBER",
                      "connectNulls": True}),
    ]
    filters = [(_t(lang, "Register", "Registry"), "registry_id", REGISTRATIONS),
               (_t(lang, "Enhet", "Unit"), "unit_name", REGISTRATIONS)]
    return Dashboard(f"registerhallare{_suffix(lang, '-')}",
                     _t(lang, "Registerhållare: registrering, täckning, fullständighet",
                        "Registry managers: registration, coverage, completeness"),
                     charts, filters, audience="managers", lang=lang)


def _data_engineering(lang: str = "sv") -> Dashboard:
    k = _suffix(lang, "_")
    charts = [
        Chart(f"de_files{k}", _t(lang, "Filer per register och natt", "Files per registry and night"),
              "echarts_timeseries_bar", INGESTION, columns=["received_on", "status"],
              metrics=[metric("SUM(files)", _t(lang, "Filer", "Files"))],
              params={"x_axis": "received_on", "time_grain_sqla": "P1D", "groupby": ["status"],
                      "stack": "Stack", "row_limit": 10000, "time_range": "No filter"}),
        Chart(f"de_dq{k}",
              _t(lang, "Datakvalitetskontroller per Kahn-kategori", "Data-quality checks per Kahn category"),
              "echarts_timeseries_bar", DQ_RESULTS, columns=["checked_on", "kahn_category"],
              metrics=[metric("SUM(checks)", _t(lang, "Kontroller", "Checks"))],
              params={"x_axis": "checked_on", "time_grain_sqla": "P1D",
                      "groupby": ["kahn_category", "status"], "stack": "Stack",
                      "row_limit": 10000, "time_range": "No filter"}),
        Chart(f"de_freshness{k}", _t(lang, "Aktualitet per register", "Freshness per registry"),
              "table", FRESHNESS,
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
    return Dashboard(f"datateknik{_suffix(lang, '-')}",
                     _t(lang, "Datateknik: inläsning, karantän, datakvalitet",
                        "Data engineering: ingestion, quarantine, data quality"), charts,
                     [(_t(lang, "Register", "Registry"), "registry_id", INGESTION)],
                     audience="engineers", lang=lang)


def dashboards() -> list[Dashboard]:
    return [d for lang in LANGUAGES for d in
            [*(_network(r, n, lang) for r, n in NETWORKS.items()), _registry_managers(lang),
             _data_engineering(lang)]]
