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
    # funnel plot (issue 20): limit curves, national rate, units marked by the limit they cross
    "Riket (nationell andel)": "Sweden (national proportion)",
    " (utanför 95 %)": " (outside 95 %)",
    " (utanför 99,8 %)": " (outside 99.8 %)",
    "Andel per enhet": "Proportion per unit",
    "Bedömning": "Verdict",
    # trend: one unit at a time, Anhøj's run rules marked on the points
    "Trend för en enhet i taget: välj enhet i filtret \"Enhet (trend)\"":
        "Trend for one unit at a time: choose it in the filter \"Unit (trend)\"",
    "Enhet (trend)": "Unit (trend)",
    "Median": "Median",
    "Punkt utanför styrgränserna": "Point outside the control limits",
    "Anhøj-signal: för lång serie på samma sida om medianen":
        "Anhøj signal: run too long on one side of the median",
    "Anhøj-signal: för få korsningar av medianen": "Anhøj signal: too few crossings of the median",
    "Ingen Anhøj-signal (slumpmässig variation)": "No Anhøj signal (random variation)",
    "För kort serie för serieregler (färre än 10 månader)":
        "Series too short for run rules (fewer than 10 months)",
    # map and its colour scale
    "**Kartan**: färgskala från ljusblått (lägsta andelen bland regionerna) till mörkblått"
    " (högsta); håll muspekaren över en region för dess andel. Vit region: inget publicerat"
    " värde.":
        "**The map**: colour scale from light blue (the lowest proportion among the regions) to"
        " dark blue (the highest); hover over a region for its proportion. White region: no"
        " published value.",
    # target levels in words (as Vården i siffror)
    "Måluppfyllelse": "Target attainment",
    "Hög måluppfyllelse": "High target attainment",
    "Måttlig måluppfyllelse": "Moderate target attainment",
    "Låg måluppfyllelse": "Low target attainment",
    "95 % KI": "95 % CI",
    "Täckningsgrad %": "Coverage %",
    "Fullständighet %": "Completeness %",
    "Saknade fall kan ändra nivån": "Missing cases could change the level",
    "Ja": "Yes",
    "Rangordning": "Ranking",
    "Enheterna kan inte rangordnas på denna indikator":
        "Units cannot be ranked on this indicator",
    # registry managers
    "Registrering per enhet och månad, ett register i taget: välj register i filtret.":
        "Registrations per unit and month, one registry at a time: choose the registry in the"
        " filter.",
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
    "target_text": "Måluppfyllelse", "ci_text": "95 % KI", "coverage_pct": "Täckningsgrad %",
    "completeness_pct": "Fullständighet %", "missing_text": "Saknade fall kan ändra nivån",
    "rank_text": "Rangordning",
}


# What each indicator counts (issue 20: "explain each indicator on the dashboard"): numerator and
# denominator in words. Name, direction and target levels come from the seed the marts read
# (dbt_project/seeds/indicators.csv), so the text cannot drift from the targets in use; the seed
# has no numerator/denominator columns and a new seed column needs `dbt seed --full-refresh` on
# every warehouse, so the words live here, with their English.
INDICATOR_TEXTS = {
    "brytpunktssamtal": ("Väntade dödsfall med dokumenterat brytpunktssamtal", "Väntade dödsfall"),
    "smartskattning": ("Väntade dödsfall där smärtan skattats med validerat instrument sista"
                       " levnadsveckan", "Väntade dödsfall"),
    "munhalsa": ("Väntade dödsfall där munhälsan bedömts sista levnadsveckan", "Väntade dödsfall"),
    "vid_behov_opioid": ("Väntade dödsfall med individuell vid behov-ordination av opioid mot"
                         " smärta", "Väntade dödsfall"),
    "vid_behov_angest": ("Väntade dödsfall med individuell vid behov-ordination av"
                         " ångestdämpande", "Väntade dödsfall"),
    "trycksar_fri": ("Väntade dödsfall utan trycksår grad 2–4 sista levnadsveckan",
                     "Väntade dödsfall"),
    "avf_vid_hd_start": ("Patienter med AV-fistel eller graft som access vid första hemodialysen",
                         "Patienter som startar hemodialys"),
    "cvk_prevalent": ("Patienter med central dialyskateter som access vid årets slut",
                      "Prevalenta hemodialyspatienter vid årets slut"),
    "pd_vid_start": ("Patienter med peritonealdialys som första dialysform",
                     "Patienter som startar dialys"),
    "karotis_14d": ("Operationer inom 14 dagar från indexsymtom",
                    "Operationer för symtomgivande karotisstenos"),
    "aaa_mort_30d": ("Döda inom 30 dagar efter operationen",
                     "Elektiva operationer för bukaortaaneurysm"),
    "mdk": ("Patienter diskuterade vid multidisciplinär konferens före behandling",
            "Patienter som startar behandling"),
    "ledtid_svf": ("Patienter vars behandling startade inom vårdförloppets ledtid",
                   "Patienter i standardiserat vårdförlopp"),
    "kontaktssk": ("Patienter med namngiven kontaktsjuksköterska", "Nydiagnostiserade patienter"),
}
ENGLISH.update({
    "Väntade dödsfall med dokumenterat brytpunktssamtal":
        "Expected deaths with a documented end-of-life conversation",
    "Väntade dödsfall": "Expected deaths",
    "Väntade dödsfall där smärtan skattats med validerat instrument sista levnadsveckan":
        "Expected deaths whose pain was assessed with a validated instrument in the last week",
    "Väntade dödsfall där munhälsan bedömts sista levnadsveckan":
        "Expected deaths whose oral health was assessed in the last week",
    "Väntade dödsfall med individuell vid behov-ordination av opioid mot smärta":
        "Expected deaths with an individual as-needed prescription of an opioid for pain",
    "Väntade dödsfall med individuell vid behov-ordination av ångestdämpande":
        "Expected deaths with an individual as-needed prescription of an anxiolytic",
    "Väntade dödsfall utan trycksår grad 2–4 sista levnadsveckan":
        "Expected deaths without pressure ulcers of grade 2–4 in the last week",
    "Patienter med AV-fistel eller graft som access vid första hemodialysen":
        "Patients with an AV fistula or graft as access at the first haemodialysis",
    "Patienter som startar hemodialys": "Patients starting haemodialysis",
    "Patienter med central dialyskateter som access vid årets slut":
        "Patients with a central venous catheter as access at the end of the year",
    "Prevalenta hemodialyspatienter vid årets slut":
        "Prevalent haemodialysis patients at the end of the year",
    "Patienter med peritonealdialys som första dialysform":
        "Patients with peritoneal dialysis as first dialysis modality",
    "Patienter som startar dialys": "Patients starting dialysis",
    "Operationer inom 14 dagar från indexsymtom": "Operations within 14 days of the index symptom",
    "Operationer för symtomgivande karotisstenos": "Operations for symptomatic carotid stenosis",
    "Döda inom 30 dagar efter operationen": "Deaths within 30 days of the operation",
    "Elektiva operationer för bukaortaaneurysm":
        "Elective operations for abdominal aortic aneurysm",
    "Patienter diskuterade vid multidisciplinär konferens före behandling":
        "Patients discussed at a multidisciplinary conference before treatment",
    "Patienter som startar behandling": "Patients starting treatment",
    "Patienter vars behandling startade inom vårdförloppets ledtid":
        "Patients whose treatment started within the pathway's lead time",
    "Patienter i standardiserat vårdförlopp": "Patients in a standardised care pathway",
    "Patienter med namngiven kontaktsjuksköterska": "Patients with a named contact nurse",
    "Nydiagnostiserade patienter": "Newly diagnosed patients",
    # the notes under a network's charts
    "Så läses tavlan": "How to read this dashboard",
    "**Trattdiagrammet** visar varje enhets andel (punkt) mot antalet patienter. Kurvorna är"
    " 95 %- och 99,8 %-gränserna runt riksandelen (mittlinjen): en enhet utanför 95 % är"
    " orange, utanför 99,8 % röd. Håll muspekaren över en punkt för enhet, andel och antal.":
        "**The funnel plot** shows each unit's proportion (dot) against its number of patients."
        " The curves are the 95 % and 99.8 % limits around the national proportion (the middle"
        " line): a unit outside 95 % is orange, outside 99.8 % red. Hover over a dot for the"
        " unit, its proportion and its number of patients.",
    "**Trenden** visar en enhet i taget (filtret \"Enhet (trend)\", förvald den första i"
    " bokstavsordning med minst 10 månader; Superset kan inte förvälja den inloggades egen"
    " enhet). Punkternas färg"
    " är Anhøjs seriereglers bedömning; en serie kortare än 10 månader bedöms inte.":
        "**The trend** shows one unit at a time (the filter \"Unit (trend)\", preset to the"
        " first in alphabetical order with at least 10 months; Superset cannot preset the"
        " signed-in user's own unit)."
        " The dots' colour is the verdict of Anhøj's run rules; a series shorter than 10 months"
        " is not judged.",
    "**Måluppfyllelse** som i Vården i siffror: grön hög, gul måttlig, röd låg. Täckningsgrad"
    " och fullständighet står bredvid värdet; \"Saknade fall kan ändra nivån\" betyder att"
    " nivån kunde bli en annan om de saknade fallen räknades med. Där enheterna inte kan"
    " rangordnas är skillnaderna mellan dem till största delen slump: jämför inte"
    " placeringar.":
        "**Target attainment** as in Vården i siffror: green high, yellow moderate, red low."
        " Coverage and completeness stand beside the value; \"Missing cases could change the"
        " level\" means the level could differ if the missing cases were counted. Where units"
        " cannot be ranked, the differences between them are mostly chance: do not compare"
        " positions.",
    "Indikatorerna": "The indicators",
    "täljare": "numerator",
    "nämnare": "denominator",
    "mål": "target",
    "källa": "source",
    "minst {high}": "at least {high}",
    "högst {high}": "at most {high}",
    "hög måluppfyllelse minst {high}, låg under {low}":
        "high attainment at least {high}, low below {low}",
    "hög måluppfyllelse högst {high}, låg över {low}":
        "high attainment at most {high}, low above {low}",
})


def _percent(value: float, lang: str) -> str:
    text = f"{value * 100:g}"
    return (text.replace(".", ",") if lang == "sv" else text) + " %"


def indicator_notes(registry_id: str, registry_name: str, lang: str,
                    seed: list[dict] | None = None) -> str:
    """Markdown: each of a network's indicators with its numerator, denominator, target and
    source, the targets from the indicator seed."""
    lines = [f"**{tr('Indikatorerna', lang)}**", ""]
    for row in seed if seed is not None else _indicator_seed():
        if row["registry_id"] != registry_id:
            continue
        numerator, denominator = INDICATOR_TEXTS[row["indicator_id"]]
        high, low = float(row["target_high"]), float(row["target_low"])
        higher = row["direction"] == "higher"
        if high == low:
            target = tr("minst {high}" if higher else "högst {high}", lang)
        else:
            target = tr("hög måluppfyllelse minst {high}, låg under {low}" if higher
                        else "hög måluppfyllelse högst {high}, låg över {low}", lang)
        target = target.format(high=_percent(high, lang), low=_percent(low, lang))
        lines.append(f"- **{row[f'name_{lang}']}**: {tr('täljare', lang)}: {tr(numerator, lang)};"
                     f" {tr('nämnare', lang)}: {tr(denominator, lang)}; {tr('mål', lang)}:"
                     f" {target}; {tr('källa', lang)}: {tr(registry_name, lang)}.")
    return "\n".join(lines)


def _indicator_seed() -> list[dict]:
    import csv
    from pathlib import Path

    seed = Path(__file__).resolve().parents[3] / "dbt_project" / "seeds" / "indicators.csv"
    with seed.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


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
    # a mixed chart's second query (mixed_timeseries: query B, drawn with its own series type)
    columns_b: list = field(default_factory=list)
    metrics_b: list = field(default_factory=list)
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
    notes: str = ""  # markdown below the charts (how to read them, what each indicator counts)
    # single-value, required filters that start on their first value (by column)
    single_filters: tuple[str, ...] = ()
    # filter column -> chart keys it deliberately does not reach (their dataset lacks the column)
    filter_exempt: dict = field(default_factory=dict)
    # filter column -> the column of the filter whose choice narrows its options
    cascade: dict = field(default_factory=dict)
    # series label -> colour, the same on every instance (Superset's dashboard label_colors)
    label_colors: dict = field(default_factory=dict)
    # None lets a chart keep its own colours: with a dashboard scheme Superset 6.1 paints the
    # country map categorically (one colour per region, no scale)
    color_scheme: str | None = "supersetColors"

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
# one chart can draw both: the limits as lines over the denominator (the grid of
# pub_funnel_limits plus each unit's own limits at its own n, so a curve passes through every
# unit's n without a gap), the national proportion as a line, the units as points. The latest
# period is joined, not looked up per row (PostgreSQL ran a correlated MAX once per limit row), and
# OFFSET 0 keeps PostgreSQL from pushing a chart's registry filter into the union, where it
# misjudged the rows and chose nested loops: either way a funnel chart took minutes at 1 M
# registrations, now 0.2 s. DuckDB gives the same rows.
FUNNEL = Dataset(
    "funnel_latest",
    sql=f"""SELECT * FROM (
SELECT f.registry_id, f.indicator_id, f.indicator_name_sv, f.indicator_name_en,
       f.unit_name, f.region_code, f.denominator,
       f.rate AS unit_rate, f.theta0 AS national_rate,
       f.lower_95, f.upper_95, f.lower_998, f.upper_998,
       f.outlier_flag
FROM {SCHEMA}.pub_funnel AS f
JOIN (SELECT indicator_id, MAX(period_start) AS latest FROM {SCHEMA}.pub_funnel
      WHERE period_grain = 'rolling_12m' GROUP BY indicator_id) AS m
  ON m.indicator_id = f.indicator_id AND m.latest = f.period_start
WHERE f.period_grain = 'rolling_12m'
UNION ALL
SELECT l.registry_id, l.indicator_id, n.indicator_name_sv, n.indicator_name_en, NULL, NULL,
       l.denominator, NULL, l.theta0, l.lower_95, l.upper_95, l.lower_998, l.upper_998, NULL
FROM {SCHEMA}.pub_funnel_limits AS l
JOIN (SELECT indicator_id, MAX(period_start) AS latest FROM {SCHEMA}.pub_funnel_limits
      WHERE period_grain = 'rolling_12m' GROUP BY indicator_id) AS m
  ON m.indicator_id = l.indicator_id AND m.latest = l.period_start
LEFT JOIN (SELECT DISTINCT indicator_id, indicator_name_sv, indicator_name_en
           FROM {SCHEMA}.pub_funnel) AS n ON n.indicator_id = l.indicator_id
WHERE l.period_grain = 'rolling_12m'
) AS funnel OFFSET 0""",
)
# The trend of one unit: pub_spc with the unit under its own column, so only the trend's own
# filter ("Enhet (trend)", one value, required) narrows it and the dashboard's unit filter
# (several units, for the table) does not; n_points is the length of the unit's series, for the
# note that a series shorter than 10 months is too short for run rules.
SPC_TREND = Dataset(
    "spc_trend",
    main_dttm_col="period_start",
    sql=f"""SELECT s.registry_id, s.indicator_id, s.indicator_name_sv, s.indicator_name_en,
       s.unit_id, s.unit_name AS trend_unit, s.region_code, s.period_start,
       s.rate, s.centre, s.lcl, s.ucl, s.special_cause, s.median_rate,
       s.longest_run, s.longest_run_max, s.crossings, s.crossings_min, s.non_random,
       COUNT(*) OVER (PARTITION BY s.indicator_id, s.unit_id) AS n_points
FROM {SCHEMA}.pub_spc AS s""",
)
# The overview with the indicator's rankability over the same period: where the units cannot be
# ranked the table says so.
OVERVIEW_RANKED = Dataset(
    "indicator_overview_ranked",
    sql=f"""SELECT o.*, r.rankability, r.rankable
FROM {SCHEMA}.pub_indicator_overview AS o
LEFT JOIN {SCHEMA}.pub_rankability AS r
  ON r.indicator_id = o.indicator_id AND r.period_grain = 'rolling_12m'
 AND r.period_start = o.period_start""",
)
# The three colours of a target level, as Vården i siffror: green, yellow, red.
LEVEL_COLOURS = {"high": "#5AC189", "between": "#FCC700", "low": "#FF7F44"}
TARGET_WORDS = {"high": "Hög måluppfyllelse", "between": "Måttlig måluppfyllelse",
                "low": "Låg måluppfyllelse"}
# Funnel: within the limits blue, outside 95 % orange, outside 99.8 % red; limits in the colour of
# what they separate, the national proportion dark grey.
FUNNEL_COLOURS = {"none": "#1F77B4", "alert": "#F5A623", "alarm": "#D0021B"}
FUNNEL_SUFFIX = {"none": "", "alert": " (utanför 95 %)", "alarm": " (utanför 99,8 %)"}
# Trend: a point's colour is the verdict on it
SIGNAL_COLOURS = {
    "Punkt utanför styrgränserna": "#D0021B",
    "Anhøj-signal: för lång serie på samma sida om medianen": "#F5A623",
    "Anhøj-signal: för få korsningar av medianen": "#F5A623",
    "Ingen Anhøj-signal (slumpmässig variation)": "#1F77B4",
    "För kort serie för serieregler (färre än 10 månader)": "#9B9B9B",
}
MIN_RUN_POINTS = 10


def funnel_unit_label(unit_name: str, flag: str, lang: str) -> str:
    """A unit's series name in the funnel: its name, and the limit it is outside of."""
    suffix = FUNNEL_SUFFIX[flag]
    return unit_name + (tr(suffix, lang) if suffix else "")


def network_label_colors(unit_names: list[str], lang: str) -> dict[str, str]:
    """label_colors for a network's dashboard: every unit under each of its three possible funnel
    labels (Superset matches series names exactly), the funnel's limit lines and the trend's
    lines and point verdicts."""
    colours = {funnel_unit_label(u, flag, lang): c
               for u in unit_names for flag, c in FUNNEL_COLOURS.items()}
    colours.update({tr("95 % nedre", lang): FUNNEL_COLOURS["alert"],
                    tr("95 % övre", lang): FUNNEL_COLOURS["alert"],
                    tr("99,8 % nedre", lang): FUNNEL_COLOURS["alarm"],
                    tr("99,8 % övre", lang): FUNNEL_COLOURS["alarm"],
                    tr("Riket (nationell andel)", lang): "#4A4A4A"})
    colours.update({tr(label, lang): c for label, c in SIGNAL_COLOURS.items()})
    colours.update({tr("Andel", lang): "#4A4A4A", tr("Centrallinje", lang): "#2B8A3E",
                    tr("Nedre styrgräns", lang): "#D0021B", tr("Övre styrgräns", lang): "#D0021B",
                    tr("Median", lang): "#9B9B9B"})
    return colours


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _key(base: str, lang: str) -> str:
    """A chart's key (and so its UUID): the Swedish chart keeps the key it always had."""
    return base if lang == "sv" else f"{base}_{lang}"


def _network(registry_id: str, name: str, lang: str) -> Dashboard:
    mine = [where("registry_id", registry_id)]
    target_words = "CASE target_level " + " ".join(
        f"WHEN '{level}' THEN {_sql_text(tr(words, lang))}" for level, words in TARGET_WORDS.items()
    ) + " ELSE '' END"
    pct = "CAST(ROUND(CAST({} * 100 AS NUMERIC), 1) AS VARCHAR)"
    overview_cols = [
        labelled("indicator_name", lang, f"indicator_name_{lang}"),
        # the country row is called "Riket" in the data
        labelled("unit_name", lang, None if lang == "sv"
                 else "CASE WHEN level = 'country' THEN 'Sweden' ELSE unit_name END"),
        *(labelled(c, lang) for c in ["region_code", "level", "rate_text"]),
        labelled("ci_text", lang, f"CASE WHEN ci_low IS NULL THEN '' ELSE {pct.format('ci_low')}"
                                  f" || '–' || {pct.format('ci_high')} || ' %' END"),
        labelled("denominator_text", lang),
        # coverage and completeness beside the value (issue 20), NULL where the value is hidden
        labelled("coverage_pct", lang), labelled("completeness_pct", lang),
        labelled("target_text", lang, target_words),
        labelled("missing_text", lang, "CASE WHEN missing_could_change_level THEN "
                                       f"{_sql_text(tr('Ja', lang))} ELSE '' END"),
        labelled("rank_text", lang, "CASE WHEN rankable = FALSE AND level = 'unit' THEN "
                 f"{_sql_text(tr('Enheterna kan inte rangordnas på denna indikator', lang))}"
                 " ELSE '' END"),
        labelled("dq_warning_checks", lang),
    ]
    target_text = tr(COLUMN_LABELS["target_text"], lang)
    unit_label = {"expressionType": "SQL", "hasCustomLabel": True, "label": tr("Enhet", lang),
                  "sqlExpression": "unit_name || CASE outlier_flag " + " ".join(
                      f"WHEN '{flag}' THEN {_sql_text(tr(suffix, lang))}"
                      for flag, suffix in FUNNEL_SUFFIX.items() if suffix) + " ELSE '' END"}
    signal = {"expressionType": "SQL", "hasCustomLabel": True, "label": tr("Status", lang),
              "sqlExpression": "CASE WHEN special_cause THEN "
              f"{_sql_text(tr('Punkt utanför styrgränserna', lang))}"
              f" WHEN n_points < {MIN_RUN_POINTS} THEN "
              f"{_sql_text(tr('För kort serie för serieregler (färre än 10 månader)', lang))}"
              " WHEN longest_run > longest_run_max THEN "
              f"{_sql_text(tr('Anhøj-signal: för lång serie på samma sida om medianen', lang))}"
              " WHEN crossings < crossings_min THEN "
              f"{_sql_text(tr('Anhøj-signal: för få korsningar av medianen', lang))}"
              f" ELSE {_sql_text(tr('Ingen Anhøj-signal (slumpmässig variation)', lang))} END"}
    charts = [
        Chart(
            _key(f"{registry_id}_overview", lang),
            tr("Indikatorer per enhet (senaste 12 månaderna)", lang), "table",
            OVERVIEW_RANKED, columns=overview_cols, width=12, height=70,
            params={
                "query_mode": "raw", "all_columns": overview_cols, "adhoc_filters": mine,
                # by name, never by value: where units cannot be ranked a sorted list would rank
                "order_by_cols": [f'["indicator_name_{lang}", true]', '["level", false]',
                                  '["unit_name", true]'],
                "row_limit": 10000, "server_pagination": False, "table_timestamp_format": "smart_date",
                "show_cell_bars": False,
                # the level in words, coloured as Vården i siffror (a string column: operator "=")
                "conditional_formatting": [
                    {"column": target_text, "colorScheme": LEVEL_COLOURS[level], "operator": "=",
                     "targetValue": tr(words, lang)}
                    for level, words in TARGET_WORDS.items()],
            },
        ),
        Chart(
            _key(f"{registry_id}_funnel", lang),
            tr("Trattdiagram: enheter mot 95 % och 99,8 % gränser", lang),
            "mixed_timeseries", FUNNEL,
            # query A: the limit curves and the national proportion as lines over the denominator
            columns=["denominator"],
            metrics=[metric(f"MAX({c})", tr(label, lang)) for c, label in [
                ("upper_998", "99,8 % övre"), ("upper_95", "95 % övre"),
                ("national_rate", "Riket (nationell andel)"),
                ("lower_95", "95 % nedre"), ("lower_998", "99,8 % nedre")]],
            # query B: every unit a point, named (with the limit it is outside of) on hover
            columns_b=["denominator", unit_label],
            metrics_b=[metric("MAX(unit_rate)", tr("Andel per enhet", lang))],
            params={"x_axis": "denominator", "adhoc_filters": mine, "adhoc_filters_b": mine,
                    "groupby": [], "groupby_b": [unit_label],
                    "seriesType": "line", "seriesTypeB": "scatter",
                    "markerEnabled": False, "markerEnabledB": True, "markerSize": 6,
                    "markerSizeB": 9, "yAxisIndex": 0, "yAxisIndexB": 0,
                    "row_limit": 10000, "row_limit_b": 10000, "limit": None, "limit_b": None,
                    "y_axis_format": ".0%", "y_axis_format_secondary": ".0%",
                    "y_axis_bounds": [0, 1],
                    "show_legend": False, "rich_tooltip": False, "zoomable": False,
                    "truncateYAxis": False, "truncateXAxis": True,
                    "x_axis_title": tr("Antal patienter (nämnare)", lang),
                    "x_axis_title_margin": 30, "time_range": "No filter",
                    "time_range_b": "No filter"},
        ),
        Chart(
            _key(f"{registry_id}_spc", lang),
            tr("Trend för en enhet i taget: välj enhet i filtret \"Enhet (trend)\"", lang),
            "mixed_timeseries", SPC_TREND,
            # query A: the unit's proportion, centre line, control limits and median as lines
            columns=["period_start"],
            metrics=[metric(f"AVG({c})", tr(label, lang)) for c, label in [
                ("ucl", "Övre styrgräns"), ("rate", "Andel"), ("centre", "Centrallinje"),
                ("median_rate", "Median"), ("lcl", "Nedre styrgräns")]],
            # query B: every month a point coloured by its verdict (Shewhart, then Anhøj)
            columns_b=["period_start", signal],
            metrics_b=[metric("AVG(rate)", tr("Bedömning", lang))],
            params={"x_axis": "period_start", "time_grain_sqla": "P1M",
                    "adhoc_filters": mine, "adhoc_filters_b": mine,
                    "groupby": [], "groupby_b": [signal],
                    "seriesType": "line", "seriesTypeB": "scatter",
                    "markerEnabled": False, "markerEnabledB": True, "markerSize": 6,
                    "markerSizeB": 10, "yAxisIndex": 0, "yAxisIndexB": 0,
                    "row_limit": 10000, "row_limit_b": 10000,
                    "y_axis_format": ".0%", "y_axis_format_secondary": ".0%",
                    # every entry visible (a scrolling legend hid the verdict on its second page)
                    "show_legend": True, "legendType": "plain", "legendOrientation": "bottom",
                    "rich_tooltip": True, "zoomable": False, "x_axis_time_format": "%Y-%m",
                    "tooltipTimeFormat": "%Y-%m", "time_range": "No filter",
                    "time_range_b": "No filter"},
        ),
        Chart(
            _key(f"{registry_id}_map", lang), tr("Andel per region (senaste 12 månaderna)", lang),
            "country_map", OVERVIEW, columns=["region_code"],
            metrics=[metric("AVG(rate)", tr("Andel", lang))], height=80,
            # a sequential scale (light: the lowest region's proportion, dark: the highest); the
            # map draws no legend of its own, the note beside it says how to read it
            params={"select_country": "sweden", "entity": "region_code",
                    "adhoc_filters": mine + [where("level", "region")],
                    "number_format": ".1%", "linear_color_scheme": "schemeBlues",
                    "row_limit": 100},
        ),
    ]
    charts[3].params["metric"] = charts[3].metrics[0]
    # by name in the reader's language; every dataset of a network's charts carries both names
    filters = [(tr("Indikator", lang), f"indicator_name_{lang}", OVERVIEW),
               (tr("Region", lang), "region_code", OVERVIEW),
               (tr("Enhet", lang), "unit_name", OVERVIEW),
               (tr("Enhet (trend)", lang), "trend_unit", SPC_TREND)]
    title = tr("{name}: förbättringsnätverket", lang).format(name=tr(name, lang))
    intro = tr("Indikatorvärden per enhet, region och riket. Välj en indikator i filtret; värden"
               " som inte kan visas utan att röja uppgifter om enskilda patienter visas som"
               " \"..\".", lang)
    notes = "\n\n".join([
        f"**{tr('Så läses tavlan', lang)}**",
        tr("**Trattdiagrammet** visar varje enhets andel (punkt) mot antalet patienter. Kurvorna"
           " är 95 %- och 99,8 %-gränserna runt riksandelen (mittlinjen): en enhet utanför 95 %"
           " är orange, utanför 99,8 % röd. Håll muspekaren över en punkt för enhet, andel och"
           " antal.", lang),
        tr("**Trenden** visar en enhet i taget (filtret \"Enhet (trend)\", förvald den första i"
           " bokstavsordning med minst 10 månader; Superset kan inte förvälja den inloggades egen"
           " enhet). Punkternas färg är Anhøjs seriereglers bedömning; en serie kortare än 10"
           " månader bedöms inte.", lang),
        tr("**Kartan**: färgskala från ljusblått (lägsta andelen bland regionerna) till mörkblått"
           " (högsta); håll muspekaren över en region för dess andel. Vit region: inget"
           " publicerat värde.", lang),
        tr("**Måluppfyllelse** som i Vården i siffror: grön hög, gul måttlig, röd låg."
           " Täckningsgrad och fullständighet står bredvid värdet; \"Saknade fall kan ändra"
           " nivån\" betyder att nivån kunde bli en annan om de saknade fallen räknades med. Där"
           " enheterna inte kan rangordnas är skillnaderna mellan dem till största delen slump:"
           " jämför inte placeringar.", lang),
        indicator_notes(registry_id, name, lang),
    ])
    keys = {c.key.removesuffix(f"_{lang}") if lang != "sv" else c.key: c.key for c in charts}
    spc_key = keys[f"{registry_id}_spc"]
    return Dashboard(
        f"natverk-{registry_id}", lang, title, charts, filters, registry_id=registry_id,
        intro=intro, notes=notes, single_filters=("trend_unit",),
        # the table's unit filter picks several units and must not empty the trend; the trend's
        # own unit filter reaches the trend only
        filter_exempt={"unit_name": (spc_key,),
                       "trend_unit": tuple(c.key for c in charts if c.key != spc_key)},
        color_scheme=None)


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
              metrics=[registrations], width=12, height=100,
              # one registry at a time (the registry filter takes one value; a manager's role
              # sees one anyway), units sorted by name, unit labels thinned by ECharts only where
              # they would overlap (every one of a registry's at most 24 fits), months every
              # third, as year-month and turned (an unset interval drew every label over another)
              params={"x_axis": "period_start", "time_grain_sqla": "P1M", "groupby": "unit_name",
                      "metric": registrations,
                      "linear_color_scheme": "schemeBlues", "row_limit": 50000,
                      "normalize_across": "heatmap", "show_legend": True, "show_values": False,
                      "show_percentage": False, "value_bounds": [None, None],
                      "sort_x_axis": "alpha_asc", "sort_y_axis": "alpha_desc",
                      "y_axis_format": "SMART_NUMBER", "xscale_interval": 3,
                      "yscale_interval": -1, "x_axis_time_format": "%Y-%m",
                      "x_axis_label_rotation": 45, "left_margin": "auto", "bottom_margin": "auto",
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
               " avvikelser i fullständighet och aktualitet.", lang) + " " + tr(
        "Registrering per enhet och månad, ett register i taget: välj register i filtret.", lang)
    return Dashboard("registerhallare", lang,
                     tr("Registerhållare: registrering, täckning, fullständighet", lang),
                     charts, filters, intro=intro, single_filters=("registry_id",))


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
