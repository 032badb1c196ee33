-- Per person and calendar year: the lowest unit in the registry and in the reference register
-- (null: not there that year). Recomputed only for the persons the changed months touch, one
-- lookup per person in the month table (decision 0014).
{{ config(
    meta={'analyze': 'after_full_build'},
    pre_hook=["{{ take_touched_persons(ref('int_coverage_person_months')) }}",
              "{{ delete_touched_persons() }}"],
    indexes=coverage_indexes([['registry_id', 'person_id', 'year_start'], ['year_start']])) }}

select
    m.registry_id,
    m.person_id,
    cast({{ dbt.date_trunc('year', 'm.event_month') }} as date) as year_start,
    min(m.registry_unit_id) as registry_unit_id,
    min(m.reference_unit_id) as reference_unit_id,
    cast(current_timestamp as timestamp) as _built_at
{%- if incremental_run() %}
from staging.coverage_touched as t
cross join lateral (
    select * from {{ ref('int_coverage_person_months') }} as pm
    where pm.registry_id = t.registry_id and pm.person_id = t.person_id
        and pm.event_month >= t.year_start
        and pm.event_month < cast({{ dbt.dateadd('year', 1, 't.year_start') }} as date)
) as m
{%- else %}
from {{ ref('int_coverage_person_months') }} as m
{%- endif %}
group by 1, 2, 3
