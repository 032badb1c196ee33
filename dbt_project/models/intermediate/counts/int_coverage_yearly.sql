-- Persons per unit and calendar year of the event, linked on the pseudonym between the registry
-- and its reference register: A = only in the registry, B = only in the reference, C = in both.
-- Incremental per (registry, year) like int_indicator_monthly (decision 0012).
{{ config(pre_hook="{{ delete_changed_registry_periods('year_start', 'year') }}") }}
{%- set changed = changed_registry_periods('year_start', 'year') %}

with
{%- for side, model in [('reg', 'int_registrations'), ('ref', 'int_references')] %}
{{ side }} as (
    select registry_id, person_id, cast({{ dbt.date_trunc('year', 'event_date') }} as date) as year_start,
           min(unit_id) as unit_id
    from {{ ref(model) }}
    where {{ in_changed_registry_periods(changed, 'event_date', 'year') }}
    group by 1, 2, 3
),
{% endfor %}
linked as (
    select
        coalesce(reg.registry_id, ref.registry_id) as registry_id,
        coalesce(reg.unit_id, ref.unit_id) as unit_id,
        coalesce(reg.year_start, ref.year_start) as year_start,
        case when ref.person_id is null then 'A' when reg.person_id is null then 'B' else 'C' end
            as category
    from reg
    full outer join ref
        on ref.registry_id = reg.registry_id and ref.person_id = reg.person_id
        and ref.year_start = reg.year_start
)

select
    registry_id,
    unit_id,
    year_start,
    cast(sum(case when category = 'A' then 1 else 0 end) as bigint) as only_registry,
    cast(sum(case when category = 'B' then 1 else 0 end) as bigint) as only_reference,
    cast(sum(case when category = 'C' then 1 else 0 end) as bigint) as in_both,
    cast(current_timestamp as timestamp) as _built_at
from linked
group by 1, 2, 3
