"""What the dashboards show, written once in Python and rendered into the YAML bundle in superset/.

One dashboard per network (the same layout for each registry), one for the registry managers and
one for the data engineers, each in Swedish and in English. Every dataset reads a `pub_` relation
of the publication schema and nothing else. UUIDs are derived from names (uuid5), so the bundle is
stable between renders and between Superset instances.

Language is data: the builders below write every text in Swedish and pass it through `tr`, which
looks the English up in `ENGLISH` (a missing entry fails the render). A Swedish dashboard keeps
its slug, chart keys and UUIDs; its English twin has the slug `<slug>-en` and chart keys
`<key>_en`, so both live side by side in one Superset and read the same datasets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from regbench.contracts import registry_names

NAMESPACE = uuid.UUID("7d1f0c52-3a5e-4b8e-9f0e-5b1f2c3d4e60")
SCHEMA = "publication"
DATABASE_NAME = "regbench publication"

# registry id -> its name, from its contract (registries/<id>.yaml): one network dashboard each
NETWORKS = registry_names()


LANGUAGES = ("sv", "en")

# The English of every Swedish text on the dashboards (titles, chart names, column and metric
# labels, filter names, markdown). Registry and unit names are proper names.
ENGLISH = {
    # registries
    "Svenska palliativregistret": "Swedish Register of Palliative Care",
    "Svenskt njurregister": "Swedish Renal Registry",
    "Swedvasc": "Swedvasc (Swedish Vascular Registry)",
    "Blodcancerregistret": "Swedish Blood Cancer Registry",
    # dashboards
    "{name}: förbättringsnätverket": "{name}: improvement network",
    "Registerhållare: registrering, täckning, fullständighet":
        "Registry managers: registration, coverage, completeness",
    "Datateknik: inläsning, karantän, datakvalitet":
        "Data engineering: ingestion, quarantine, data quality",
    # markdown
    "Indikatorvärden per enhet, region och riket. Välj en indikator i filtret; värden som inte"
    " kan visas utan att röja uppgifter om enskilda patienter visas som \"..\".":
        "Indicator values per unit, region and Sweden as a whole. Choose one indicator in the"
        " filter; values that cannot be shown without revealing individual patients show as"
        " \"..\".",
    "Registrering per enhet och månad, täckningsgrad mot referensregistret och avvikelser i"
    " fullständighet och aktualitet.":
        "Registrations per unit and month, coverage against the reference register, and findings"
        " on completeness and timeliness.",
    "Inlästa filer per natt, karantän och datakvalitetskontroller per register.":
        "Files taken in per night, quarantine and data-quality checks per registry.",
    # network charts
    "Indikatorer per enhet (senaste 12 månaderna)": "Indicators per unit (last 12 months)",
    "Trattdiagram: enheter mot 95 % och 99,8 % gränser":
        "Funnel plot: units against the 95 % and 99.8 % limits",
    "Trend per månad med styrgränser (p-diagram)": "Monthly trend with control limits (p-chart)",
    "Andel per region (senaste 12 månaderna)": "Proportion per region (last 12 months)",
    "Antal patienter (nämnare)": "Number of patients (denominator)",
    "Enhet": "Unit",
    "95 % nedre": "95 % lower",
    "95 % övre": "95 % upper",
    "99,8 % nedre": "99.8 % lower",
    "99,8 % övre": "99.8 % upper",
    "Andel": "Proportion",
    "Centrallinje": "Centre line",
    "Nedre styrgräns": "Lower control limit",
    "Övre styrgräns": "Upper control limit",
    # registry-manager charts
    "Registreringar per enhet och månad": "Registrations per unit and month",
    "Enheter vars registreringar har rasat": "Units whose registrations have collapsed",
    "Täckningsgrad per enhet och år": "Coverage per unit and year",
    "Fullständighet och aktualitet: avvikelser per enhet":
        "Completeness and timeliness: findings per unit",
    "Tid från händelse till registrering (90:e percentilen, dagar)":
        "Time from event to registration (90th percentile, days)",
    "Registreringar": "Registrations",
    "Täckningsgrad": "Coverage",
    "p90 dagar": "p90 days",
    # data-engineering charts
    "Filer per register och natt": "Files per registry and night",
    "Datakvalitetskontroller per Kahn-kategori": "Data-quality checks per Kahn category",
    "Aktualitet per register": "Freshness per registry",
    "Filer": "Files",
    "Kontroller": "Checks",
    # column labels and filter names
    "Indikator": "Indicator",
    "Region": "Region",
    "Register": "Registry",
    "Nivå": "Level",
    "Antal patienter": "Patients",
    "Målnivå": "Target level",
    "Målpoäng": "Target score",
    "Datakvalitetsvarningar": "Data-quality warnings",
    "Månad": "Month",
    "Median senaste 12 mån": "Median of last 12 months",
    "Kvot mot median": "Ratio to median",
    "År": "Year",
    "Enhets-id": "Unit id",
    "Kontroll": "Check",
    "Variabel": "Variable",
    "Kahn-kategori": "Kahn category",
    "Status": "Status",
    "Observerat": "Observed",
    "Tröskel": "Threshold",
    "Senast mottagen": "Last received",
    "Dagar sedan leverans": "Days since delivery",
    "Senast inlästa period": "Last period loaded",
    "Filer i karantän": "Files in quarantine",
    "Mottagna filer": "Files received",
}

# How a column is labelled where a chart shows its name (table headers, pivot rows).
COLUMN_LABELS = {
    "indicator_name": "Indikator", "unit_name": "Enhet", "region_code": "Region",
    "level": "Nivå", "rate_text": "Andel", "denominator_text": "Antal patienter",
    "target_level": "Målnivå", "target_score": "Målpoäng",
    "dq_warning_checks": "Datakvalitetsvarningar", "registry_id": "Register",
    "period_start": "Månad", "registrations": "Registreringar",
    "trailing_12m_median": "Median senaste 12 mån", "ratio_to_median": "Kvot mot median",
    "event_year": "År", "unit_id": "Enhets-id", "check_name": "Kontroll",
    "column_name": "Variabel", "kahn_category": "Kahn-kategori", "status": "Status",
    "observed_value": "Observerat", "threshold_value": "Tröskel",
    "last_received_at": "Senast mottagen", "days_since_delivery": "Dagar sedan leverans",
    "last_period_loaded": "Senast inlästa period", "files_in_quarantine": "Filer i karantän",
    "files_received": "Mottagna filer",
}


# The switch link to a twin names its language in that language.
LANGUAGE_LINKS = {"sv": "På svenska", "en": "In English"}


def tr(swedish: str, lang: str) -> str:
    """The text in the dashboard's language; the spec is written in Swedish."""
    if lang == "sv":
        return swedish
    if lang != "en":
        raise ValueError(f"unknown dashboard language {lang!r}; known: {', '.join(LANGUAGES)}")
    try:
        return ENGLISH[swedish]
    except KeyError:
        raise KeyError(f"no English for {swedish!r}: add it to regbench.dashboards.spec.ENGLISH") from None


def slug_for(family: str, lang: str) -> str:
    """`natverk-njur` in Swedish, `natverk-njur-en` in English."""
    return family if lang == "sv" else f"{family}-{lang}"


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
    family: str  # the Swedish slug; both languages of one dashboard share it
    lang: str
    title: str
    charts: list[Chart]
    filters: list[tuple[str, str, Dataset]]  # (label, column, dataset)
    registry_id: str | None = None  # a network dashboard belongs to one registry's role
    intro: str = ""  # markdown above the charts, in the dashboard's language

    @property
    def slug(self) -> str:
        return slug_for(self.family, self.lang)

    @property
    def twins(self) -> dict[str, str]:
        """language -> slug of this dashboard in every other language (the switch links)."""
        return {lang: slug_for(self.family, lang) for lang in LANGUAGES if lang != self.lang}

    @property
    def uuid(self) -> str:
        return stable_uuid("dashboard", self.slug)


def metric(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label,
            "optionName": "metric_" + stable_uuid("metric", label + sql)[:8]}


def labelled(name: str, lang: str, sql: str | None = None) -> dict:
    """A column under its label in the dashboard's language (an adhoc column: the dataset is
    shared by both languages, so its own column names cannot carry the label)."""
    return {"expressionType": "SQL", "sqlExpression": sql or name, "hasCustomLabel": True,
            "label": tr(COLUMN_LABELS[name], lang)}


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
# one chart can draw both (points carry unit_rate, curve points carry the limits). The latest
# period is joined, not looked up per row (PostgreSQL ran a correlated MAX once per limit row), and
# OFFSET 0 keeps PostgreSQL from pushing a chart's registry filter into the union, where it
# misjudged the rows and chose nested loops: either way a funnel chart took minutes at 1 M
# registrations, now 0.2 s. DuckDB gives the same rows.
FUNNEL = Dataset(
    "funnel_latest",
    sql=f"""SELECT * FROM (
SELECT f.registry_id, f.indicator_id, f.indicator_name_sv, f.indicator_name_en,
       f.unit_name, f.region_code, f.denominator,
       f.rate AS unit_rate,
       CAST(NULL AS DOUBLE PRECISION) AS lower_95, CAST(NULL AS DOUBLE PRECISION) AS upper_95,
       CAST(NULL AS DOUBLE PRECISION) AS lower_998, CAST(NULL AS DOUBLE PRECISION) AS upper_998,
       f.outlier_flag
FROM {SCHEMA}.pub_funnel AS f
JOIN (SELECT indicator_id, MAX(period_start) AS latest FROM {SCHEMA}.pub_funnel
      WHERE period_grain = 'rolling_12m' GROUP BY indicator_id) AS m
  ON m.indicator_id = f.indicator_id AND m.latest = f.period_start
WHERE f.period_grain = 'rolling_12m'
UNION ALL
SELECT l.registry_id, l.indicator_id, n.indicator_name_sv, n.indicator_name_en, NULL, NULL,
       l.denominator, NULL, l.lower_95, l.upper_95, l.lower_998, l.upper_998, NULL
FROM {SCHEMA}.pub_funnel_limits AS l
JOIN (SELECT indicator_id, MAX(period_start) AS latest FROM {SCHEMA}.pub_funnel_limits
      WHERE period_grain = 'rolling_12m' GROUP BY indicator_id) AS m
  ON m.indicator_id = l.indicator_id AND m.latest = l.period_start
LEFT JOIN (SELECT DISTINCT indicator_id, indicator_name_sv, indicator_name_en
           FROM {SCHEMA}.pub_funnel) AS n ON n.indicator_id = l.indicator_id
WHERE l.period_grain = 'rolling_12m'
) AS funnel OFFSET 0""",
)




def _key(base: str, lang: str) -> str:
    """A chart's key (and so its UUID): the Swedish chart keeps the key it always had."""
    return base if lang == "sv" else f"{base}_{lang}"


def _network(registry_id: str, name: str, lang: str) -> Dashboard:
    mine = [where("registry_id", registry_id)]
    overview_cols = [
        labelled("indicator_name", lang, f"indicator_name_{lang}"),
        # the country row is called "Riket" in the data
        labelled("unit_name", lang, None if lang == "sv"
                 else "CASE WHEN level = 'country' THEN 'Sweden' ELSE unit_name END"),
        *(labelled(c, lang) for c in ["region_code", "level", "rate_text", "denominator_text",
                                      "target_level", "target_score", "dq_warning_checks"]),
    ]
    target_score = tr(COLUMN_LABELS["target_score"], lang)
    charts = [
        Chart(
            _key(f"{registry_id}_overview", lang),
            tr("Indikatorer per enhet (senaste 12 månaderna)", lang), "table",
            OVERVIEW, columns=overview_cols, width=12, height=70,
            params={
                "query_mode": "raw", "all_columns": overview_cols, "adhoc_filters": mine,
                "order_by_cols": [f'["indicator_name_{lang}", true]', '["level", false]',
                                  '["unit_name", true]'],
                "row_limit": 10000, "server_pagination": False, "table_timestamp_format": "smart_date",
                "conditional_formatting": [
                    {"column": target_score, "colorScheme": "#5AC189", "operator": "≥",
                     "targetValue": 1},
                    {"column": target_score, "colorScheme": "#FF7F44", "operator": "<",
                     "targetValue": 0},
                ],
            },
        ),
        Chart(
            _key(f"{registry_id}_funnel", lang),
            tr("Trattdiagram: enheter mot 95 % och 99,8 % gränser", lang),
            "echarts_timeseries_scatter", FUNNEL,
            columns=["denominator"],
            metrics=[metric(f"MAX({c})", tr(label, lang)) for c, label in [
                ("unit_rate", "Enhet"), ("lower_95", "95 % nedre"), ("upper_95", "95 % övre"),
                ("lower_998", "99,8 % nedre"), ("upper_998", "99,8 % övre")]],
            params={"x_axis": "denominator", "adhoc_filters": mine, "row_limit": 10000,
                    "y_axis_format": ".0%", "show_legend": True, "markerSize": 6,
                    "truncateYAxis": True, "x_axis_title": tr("Antal patienter (nämnare)", lang),
                    "x_axis_title_margin": 30},
        ),
        Chart(
            _key(f"{registry_id}_spc", lang), tr("Trend per månad med styrgränser (p-diagram)", lang),
            "echarts_timeseries_line", SPC, columns=["period_start"],
            metrics=[metric(f"AVG({c})", tr(label, lang)) for c, label in [
                ("rate", "Andel"), ("centre", "Centrallinje"), ("lcl", "Nedre styrgräns"),
                ("ucl", "Övre styrgräns")]],
            params={"x_axis": "period_start", "time_grain_sqla": "P1M", "adhoc_filters": mine,
                    "row_limit": 10000, "y_axis_format": ".0%", "show_legend": True,
                    "time_range": "No filter"},
        ),
        Chart(
            _key(f"{registry_id}_map", lang), tr("Andel per region (senaste 12 månaderna)", lang),
            "country_map", OVERVIEW, columns=["region_code"],
            metrics=[metric("AVG(rate)", tr("Andel", lang))],
            params={"select_country": "sweden", "entity": "region_code",
                    "adhoc_filters": mine + [where("level", "region")],
                    "number_format": ".1%", "linear_color_scheme": "blue_white_yellow",
                    "row_limit": 100},
        ),
    ]
    charts[3].params["metric"] = charts[3].metrics[0]
    # by name in the reader's language; every dataset of a network's charts carries both names
    filters = [(tr("Indikator", lang), f"indicator_name_{lang}", OVERVIEW),
               (tr("Region", lang), "region_code", OVERVIEW),
               (tr("Enhet", lang), "unit_name", OVERVIEW)]
    title = tr("{name}: förbättringsnätverket", lang).format(name=tr(name, lang))
    intro = tr("Indikatorvärden per enhet, region och riket. Välj en indikator i filtret; värden"
               " som inte kan visas utan att röja uppgifter om enskilda patienter visas som"
               " \"..\".", lang)
    return Dashboard(f"natverk-{registry_id}", lang, title, charts, filters,
                     registry_id=registry_id, intro=intro)


def _table(columns: list[str], lang: str) -> list[dict]:
    return [labelled(c, lang) for c in columns]


def _registry_managers(lang: str) -> Dashboard:
    registrations = metric("SUM(registrations)", tr("Registreringar", lang))
    coverage = metric("AVG(coverage)", tr("Täckningsgrad", lang))
    collapses = _table(["registry_id", "unit_name", "period_start", "registrations",
                        "trailing_12m_median", "ratio_to_median"], lang)
    findings = _table(["registry_id", "unit_name", "check_name", "column_name", "kahn_category",
                       "status", "observed_value", "threshold_value"], lang)
    coverage_rows = _table(["registry_id", "unit_name"], lang)
    coverage_cols = _table(["event_year"], lang)
    charts = [
        Chart(_key("rm_registrations_heatmap", lang), tr("Registreringar per enhet och månad", lang),
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
        Chart(_key("rm_collapses", lang), tr("Enheter vars registreringar har rasat", lang),
              "table", REGISTRATIONS, columns=collapses,
              params={"query_mode": "raw", "all_columns": collapses,
                      "adhoc_filters": [{"expressionType": "SQL", "clause": "WHERE",
                                         "sqlExpression": "collapse_signal",
                                         "filterOptionName": "filter_collapse"}],
                      "order_by_cols": ['["period_start", false]'], "row_limit": 1000,
                      "table_timestamp_format": "%Y-%m", "time_range": "No filter"}),
        Chart(_key("rm_coverage", lang), tr("Täckningsgrad per enhet och år", lang),
              "pivot_table_v2", COVERAGE, columns=coverage_rows + coverage_cols,
              metrics=[coverage],
              params={"groupbyRows": coverage_rows, "groupbyColumns": coverage_cols,
                      "metrics": [coverage],
                      "adhoc_filters": [where("level", "unit")], "valueFormat": ".0%",
                      "aggregateFunction": "Average", "row_limit": 10000}),
        Chart(_key("rm_completeness", lang),
              tr("Fullständighet och aktualitet: avvikelser per enhet", lang), "table",
              FINDINGS, columns=findings,
              params={"query_mode": "raw", "all_columns": findings,
                      "adhoc_filters": [where("status", "failed")], "row_limit": 5000}),
        Chart(_key("rm_timeliness", lang),
              tr("Tid från händelse till registrering (90:e percentilen, dagar)", lang),
              "echarts_timeseries_line", REGISTRATIONS, columns=["period_start", "registry_id"],
              metrics=[metric("MAX(lag_p90_days)", tr("p90 dagar", lang))],
              params={"x_axis": "period_start", "time_grain_sqla": "P1M",
                      "groupby": ["registry_id"], "row_limit": 10000, "time_range": "No filter",
                      "show_legend": True, "y_axis_format": "SMART_NUMBER",
                      "connectNulls": True}),
    ]
    filters = [(tr("Register", lang), "registry_id", REGISTRATIONS),
               (tr("Enhet", lang), "unit_name", REGISTRATIONS)]
    intro = tr("Registrering per enhet och månad, täckningsgrad mot referensregistret och"
               " avvikelser i fullständighet och aktualitet.", lang)
    return Dashboard("registerhallare", lang,
                     tr("Registerhållare: registrering, täckning, fullständighet", lang),
                     charts, filters, intro=intro)


def _data_engineering(lang: str) -> Dashboard:
    freshness = _table(["registry_id", "last_received_at", "days_since_delivery",
                        "last_period_loaded", "files_in_quarantine", "files_received"], lang)
    charts = [
        Chart(_key("de_files", lang), tr("Filer per register och natt", lang),
              "echarts_timeseries_bar", INGESTION,
              columns=["received_on", "status"], metrics=[metric("SUM(files)", tr("Filer", lang))],
              params={"x_axis": "received_on", "time_grain_sqla": "P1D", "groupby": ["status"],
                      "stack": "Stack", "row_limit": 10000, "time_range": "No filter"}),
        Chart(_key("de_dq", lang), tr("Datakvalitetskontroller per Kahn-kategori", lang),
              "echarts_timeseries_bar", DQ_RESULTS, columns=["checked_on", "kahn_category"],
              metrics=[metric("SUM(checks)", tr("Kontroller", lang))],
              params={"x_axis": "checked_on", "time_grain_sqla": "P1D",
                      "groupby": ["kahn_category", "status"], "stack": "Stack",
                      "row_limit": 10000, "time_range": "No filter"}),
        Chart(_key("de_freshness", lang), tr("Aktualitet per register", lang), "table", FRESHNESS,
              columns=freshness, width=12, height=40,
              params={"query_mode": "raw", "all_columns": freshness, "row_limit": 100,
                      "conditional_formatting": [
                          {"column": tr(COLUMN_LABELS["files_in_quarantine"], lang),
                           "colorScheme": "#FF7F44", "operator": ">", "targetValue": 0}]}),
    ]
    intro = tr("Inlästa filer per natt, karantän och datakvalitetskontroller per register.", lang)
    return Dashboard("datateknik", lang, tr("Datateknik: inläsning, karantän, datakvalitet", lang),
                     charts, [(tr("Register", lang), "registry_id", INGESTION)], intro=intro)


def dashboards(languages: tuple[str, ...] = LANGUAGES) -> list[Dashboard]:
    """Every dashboard in every language, Swedish first."""
    return [d for lang in languages for d in
            [_network(r, n, lang) for r, n in NETWORKS.items()]
            + [_registry_managers(lang), _data_engineering(lang)]]
