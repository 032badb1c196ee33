-- Per person and event month, the lowest unit the person has in the registry and in its
-- reference register (null: none that month). Rebuilt per changed month; the months and the
-- persons their old rows named are queued for int_coverage_person_years (decision 0014).
{{ config(
    meta={'analyze': 'after_full_build'},
    pre_hook="{{ start_person_months() }}",
    indexes=coverage_indexes([['event_month']])) }}
{%- set changed = changed_person_months() %}

with reg as (
    select registry_id, person_id, cast({{ dbt.date_trunc('month', 'event_date') }} as date) as event_month,
           min(unit_id) as unit_id
    from {{ ref('int_registrations') }}
    where person_id is not null and {{ in_changed_registry_periods(changed, 'event_date', 'month') }}
    group by 1, 2, 3
),

ref as (
    select registry_id, person_id, cast({{ dbt.date_trunc('month', 'event_date') }} as date) as event_month,
           min(unit_id) as unit_id
    from {{ ref('int_references') }}
    where person_id is not null and {{ in_changed_registry_periods(changed, 'event_date', 'month') }}
    group by 1, 2, 3
)

select
    coalesce(reg.registry_id, ref.registry_id) as registry_id,
    coalesce(reg.person_id, ref.person_id) as person_id,
    coalesce(reg.event_month, ref.event_month) as event_month,
    reg.unit_id as registry_unit_id,
    ref.unit_id as reference_unit_id,
    cast(current_timestamp as timestamp) as _built_at
from reg
full outer join ref
    on ref.registry_id = reg.registry_id and ref.person_id = reg.person_id
    and ref.event_month = reg.event_month
