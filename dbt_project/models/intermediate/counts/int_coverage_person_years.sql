-- Per person and calendar year: the lowest unit in the registry and in the reference register
-- (null: not there that year). Recomputed only for the persons the changed months touch, from
-- the month table's slice of their years (decision 0014).
{{ config(
    meta={'analyze': 'after_full_build'},
    pre_hook=["{{ take_touched_persons(ref('int_coverage_person_months')) }}",
              "{{ delete_touched_persons() }}"],
    indexes=coverage_indexes([['year_start']])) }}

select
    m.registry_id,
    m.person_id,
    cast({{ dbt.date_trunc('year', 'm.event_month') }} as date) as year_start,
    min(m.registry_unit_id) as registry_unit_id,
    min(m.reference_unit_id) as reference_unit_id,
    cast(current_timestamp as timestamp) as _built_at
{%- if incremental_run() %}
{#- the years the queued months fall in, read before the pre-hooks consume the queue #}
{%- set years = run_query("select distinct cast(" ~ dbt.date_trunc('year', 'event_month') ~ " as date) as y"
                          ~ " from staging.coverage_pending_months order by 1").columns[0].values()
                          | map('string') | list if execute else [] %}
from {{ ref('int_coverage_person_months') }} as m
inner join staging.coverage_touched as t
    on t.registry_id = m.registry_id and t.person_id = m.person_id
    and m.event_month >= t.year_start
    and m.event_month < cast({{ dbt.dateadd('year', 1, 't.year_start') }} as date)
where {% if years -%}
    m.event_month >= cast('{{ years[0] }}' as date)
    and m.event_month < cast({{ dbt.dateadd('year', 1, "cast('" ~ years[-1] ~ "' as date)") }} as date)
    {%- else %}false{% endif %}
{%- else %}
from {{ ref('int_coverage_person_months') }} as m
{%- endif %}
group by 1, 2, 3
