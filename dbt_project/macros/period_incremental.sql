{#
  Period-incremental marts (decision 0016). A mart with a row per (registry, grain, period)
  (values per month, quarter, year and rolling 12 months, funnels, their publication tables)
  rebuilds only the periods that contain a changed month: the month itself, its quarter, its year
  and the twelve rolling windows that end in it or in the eleven months after it.

  A month of a registry changed since the mart's last build when a base table rebuilt it
  (staging.base_months, which also names months that vanished) or when the monthly counts did;
  `extra_ranges_sql` adds date ranges of its own (the publication's data-quality warnings).
  The whole registry is rebuilt when its first month moved (rolling windows start there), and the
  whole mart when it is new, when the seeds changed, when the model's own SQL did or when a parent
  period mart was rebuilt in full for one of these reasons; a change to a macro it calls needs
  `regbench build --full-refresh`. Each mart keeps when it was built, from
  which seeds and which first months in staging.period_mart_state, written in its post-hook.
  Rebuilding from the counts assumes the counts ran in the same build before the mart, as the
  nightly build does.
#}

{% macro create_period_mart_state() -%}
    create table if not exists staging.period_mart_state (
        model varchar(200) not null,
        registry_id varchar(32) not null,
        first_month date,
        digest varchar(64) not null,
        built_at timestamp not null
    );
    create table if not exists staging.snapshot_runs (
        snapshot varchar(200) not null,
        ran_at timestamp not null
    );
    create table if not exists staging.published_dq_warnings (
        registry_id varchar(32) not null,
        unit_id varchar(64) not null,
        check_label varchar(120) not null,
        period_from date,
        period_until date
    )
{%- endmacro %}


{# The date ranges whose data-quality warnings differ from the ones the publication last applied
   (a warning raised or cleared by tonight's checks): the periods they overlap are rebuilt. #}
{% macro dq_warning_changes_sql() -%}
    {%- set columns = 'registry_id, unit_id, check_label, period_from, period_until' -%}
    select registry_id, period_from, period_until from (
        (select {{ columns }} from {{ ref('int_dq_unit_warnings') }}
         except
         select {{ columns }} from staging.published_dq_warnings)
        union
        (select {{ columns }} from staging.published_dq_warnings
         except
         select {{ columns }} from {{ ref('int_dq_unit_warnings') }})
    ) as changed
    where period_from is not null and period_until is not null
{%- endmacro %}


{% macro record_published_dq_warnings() -%}
    delete from staging.published_dq_warnings;
    insert into staging.published_dq_warnings
    select distinct registry_id, unit_id, check_label, period_from, period_until
    from {{ ref('int_dq_unit_warnings') }}
{%- endmacro %}


{% macro _month_add(iso, n) -%}
    {%- set k = (iso[:4] | int) * 12 + (iso[5:7] | int) - 1 + n -%}
    {{- return('%04d-%02d-01' % (k // 12, k % 12 + 1)) -}}
{%- endmacro %}


{# the periods of every grain that contain the month #}
{% macro _periods_of_month(iso) -%}
    {%- set m = iso[5:7] | int -%}
    {%- set rolling = [] -%}
    {%- for back in range(12) -%}{%- do rolling.append(_month_add(iso, -back)) -%}{%- endfor -%}
    {{- return({'month': [iso], 'quarter': ['%s-%02d-01' % (iso[:4], ((m - 1) // 3) * 3 + 1)],
                'year': [iso[:4] ~ '-01-01'], 'rolling_12m': rolling}) -}}
{%- endmacro %}


{% macro _inputs_digest() -%}
    {#- resolved before the return, so that parsing records the dependencies -#}
    {%- set units, indicators = ref('units'), ref('indicators') -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {#- a parent period mart rebuilt in full (its SQL changed) changes its digest, and so this one's -#}
    {%- set parents = [] -%}
    {%- for node in model.depends_on.nodes if node.startswith('model.') -%}
        {%- do parents.append(node.split('.')[-1]) -%}
    {%- endfor -%}
    {%- set sql -%}
        select md5(
            coalesce((select string_agg(concat_ws('|', registry_id, unit_id, unit_name, county_code,
                                                  region_code), ',' order by registry_id, unit_id)
                      from {{ units }}), '')
            || coalesce((select string_agg(concat_ws('|', indicator_id, registry_id, name_sv, name_en,
                                                     description_sv, direction,
                                                     cast(target_high as varchar),
                                                     cast(target_low as varchar),
                                                     cast(min_reliable_denominator as varchar)),
                                           ',' order by indicator_id)
                         from {{ indicators }}), '')
            || '{{ model.checksum.checksum if model.checksum is defined else model.raw_code | length }}'
            {%- if parents %}
            || coalesce((select string_agg(model || ':' || digest, ',' order by model)
                         from (select distinct model, digest from staging.period_mart_state
                               where model in ('{{ parents | join("', '") }}')) as parent), '')
            {%- endif %}
            || '{{ var("suppression_k") }}|{{ var("min_reliable_denominator") }}')
    {%- endset -%}
    {{- return(run_query(sql).columns[0].values()[0]) -}}
{%- endmacro %}


{#
  What this build of the mart rebuilds: {'all': true} or {'all': false, 'registries': {registry:
  none (all of it) or its changed months}}. `counts` is the monthly counts relation the mart is
  built from, with registry_id, month_start and _built_at.
#}
{% macro period_changes(counts, extra_ranges_sql=none) -%}
    {%- if not execute or not incremental_run() -%}
        {{ return({'all': true}) }}
    {%- endif -%}
    {%- set state = run_query("select registry_id, cast(first_month as varchar), digest,"
                              ~ " cast(built_at as varchar) from staging.period_mart_state"
                              ~ " where model = '" ~ this.identifier ~ "'").rows -%}
    {%- if not state or state[0][2] != _inputs_digest() -%}
        {{ return({'all': true}) }}
    {%- endif -%}
    {%- set since = "cast('" ~ state[0][3] ~ "' as timestamp)" -%}
    {%- set first_then = {} -%}
    {%- for row in state -%}{%- do first_then.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- set first_now = {} -%}
    {%- for registry, first in run_query("select registry_id, cast(min(month_start) as varchar) from "
                                          ~ counts ~ " group by 1").rows -%}
        {%- do first_now.update({registry: first}) -%}
    {%- endfor -%}
    {%- set changed_sql -%}
        select registry_id, cast(event_month as varchar) from staging.base_months
        where built_at >= {{ since }} and event_month > cast('0001-01-01' as date)
        union
        select distinct registry_id, cast(month_start as varchar) from {{ counts }}
        where _built_at >= {{ since }}
    {%- endset -%}
    {%- set registries = {} -%}
    {%- for registry, month in run_query(changed_sql).rows -%}
        {%- if first_then.get(registry) != first_now.get(registry) -%}
            {%- do registries.update({registry: none}) -%}
        {%- elif registry not in registries -%}
            {%- do registries.update({registry: [month]}) -%}
        {%- elif registries[registry] is not none -%}
            {%- do registries[registry].append(month) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if extra_ranges_sql -%}
        {%- for registry, start, until in run_query(extra_ranges_sql).rows -%}
            {%- set first = (start | string)[:7] ~ '-01' -%}
            {%- set last = (until | string)[:10] -%}
            {%- set n = ((last[:4] | int) - (first[:4] | int)) * 12 + (last[5:7] | int)
                        - (first[5:7] | int) + (1 if last[8:10] != '01' else 0) -%}
            {%- if registry not in registries -%}{%- do registries.update({registry: []}) -%}{%- endif -%}
            {%- if registries[registry] is not none -%}
                {%- for i in range(n) -%}{%- do registries[registry].append(_month_add(first, i)) -%}{%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for registry in registries.keys() | list if registries[registry] == [] -%}
        {%- do registries.pop(registry) -%}
    {%- endfor -%}
    {{ return({'all': false, 'registries': registries}) }}
{%- endmacro %}


{# true on a full rebuild, false when nothing changed, else per changed registry: the whole
   registry, or `inner(months, *args)` within it #}
{% macro _by_changed_registry(changes, registry_column, inner, args) -%}
    {%- if changes['all'] -%}
        true
    {%- elif not changes['registries'] -%}
        false
    {%- else -%}
        ({%- for registry, months in changes['registries'].items() -%}
            ({{ registry_column }} = '{{ registry }}'
            {%- if months is not none %} and ({{ inner(months, *args) }}){% endif -%})
            {%- if not loop.last %} or {% endif -%}
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}


{% macro _months_around(months, month_column) -%}
    {%- for m in months | unique | sort -%}
        ({{ month_column }} >= cast('{{ _month_add(m, -11) }}' as date)
         and {{ month_column }} < cast('{{ _month_add(m, 12) }}' as date))
        {%- if not loop.last %} or {% endif -%}
    {%- endfor -%}
{%- endmacro %}


{# rows of the monthly counts a rebuild of the changed periods reads: eleven months either side
   of each changed month (a rolling window ending in the eleven months after it starts eleven
   months before it) #}
{% macro in_months_around_changes(changes, month_column, registry_column='registry_id') -%}
    {{- _by_changed_registry(changes, registry_column, _months_around, [month_column]) -}}
{%- endmacro %}


{% macro _periods_holding(months, grain_column, start_column) -%}
    {%- set periods = {'month': [], 'quarter': [], 'year': [], 'rolling_12m': []} -%}
    {%- for m in months -%}
        {%- for grain, starts in _periods_of_month(m).items() -%}
            {%- do periods[grain].extend(starts) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for grain, starts in periods.items() -%}
        ({{ grain_column }} = '{{ grain }}' and {{ start_column }} in (
            {%- for s in starts | unique | sort -%}
                cast('{{ s }}' as date){% if not loop.last %}, {% endif %}
            {%- endfor -%}))
        {%- if not loop.last %} or {% endif -%}
    {%- endfor -%}
{%- endmacro %}


{# the (grain, period) rows a rebuild replaces: every period containing a changed month #}
{% macro in_changed_periods(changes, grain_column='period_grain', start_column='period_start',
                             registry_column='registry_id') -%}
    {{- _by_changed_registry(changes, registry_column, _periods_holding,
                             [grain_column, start_column]) -}}
{%- endmacro %}


{% macro delete_changed_periods_of_mart(changes) -%}
    {%- if not incremental_run() -%}
        select 1
    {%- elif changes['all'] -%}
        delete from {{ this }}
    {%- elif changes['registries'] -%}
        delete from {{ this }} where {{ in_changed_periods(changes) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{% macro record_period_mart_state(counts) -%}
    delete from staging.period_mart_state where model = '{{ this.identifier }}';
    insert into staging.period_mart_state
    select '{{ this.identifier }}', registry_id, min(month_start), '{{ _inputs_digest() }}',
           cast(current_timestamp as timestamp)
    from {{ counts }}
    group by registry_id
{%- endmacro %}


{# post-hook of a snapshot: when it last ran to the end (its input view compares only the rows
   built since) #}
{% macro record_snapshot_run() -%}
    delete from staging.snapshot_runs where snapshot = '{{ this.identifier }}';
    insert into staging.snapshot_runs values ('{{ this.identifier }}', cast(current_timestamp as timestamp))
{%- endmacro %}
