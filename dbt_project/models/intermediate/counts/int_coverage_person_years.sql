-- Per person and calendar year: the lowest unit in the registry and in the reference register
-- (null: not there that year) and the months the person appears in (bit m-1 for month m).
-- Recomputed only for the persons the changed months touch (decision 0014).
{{ config(
    pre_hook=["{{ take_touched_persons(ref('int_coverage_person_months')) }}",
              "{{ delete_touched_persons() }}"],
    indexes=coverage_indexes([['registry_id', 'person_id', 'year_start'], ['year_start']])) }}

select
    m.registry_id,
    m.person_id,
    cast({{ dbt.date_trunc('year', 'm.event_month') }} as date) as year_start,
    min(m.registry_unit_id) as registry_unit_id,
    min(m.reference_unit_id) as reference_unit_id,
    bit_or({{ month_bit('m.event_month') }}) as months_mask,
    cast(current_timestamp as timestamp) as _built_at
from {{ ref('int_coverage_person_months') }} as m
{%- if incremental_run() %}
inner join staging.coverage_touched as t
    on t.registry_id = m.registry_id and t.person_id = m.person_id
    and m.event_month >= t.year_start
    and m.event_month < cast({{ dbt.dateadd('year', 1, 't.year_start') }} as date)
{%- endif %}
group by 1, 2, 3
