-- Persons per unit and calendar year of the event, linked on the pseudonym between the registry
-- and its reference register: A = only in the registry, B = only in the reference, C = in both.
-- A person counts at the lowest unit that registered them that year (else the reference's).
-- Incremental per (registry, year) like int_indicator_monthly (decision 0012), from the
-- person-years the changed months touched (decision 0014).
{{ config(pre_hook="{{ delete_changed_registry_periods('year_start', 'year') }}") }}
{%- set changed = changed_registry_periods('year_start', 'year') %}

select
    registry_id,
    coalesce(registry_unit_id, reference_unit_id) as unit_id,
    year_start,
    cast(sum(case when reference_unit_id is null then 1 else 0 end) as bigint) as only_registry,
    cast(sum(case when registry_unit_id is null then 1 else 0 end) as bigint) as only_reference,
    cast(sum(case when registry_unit_id is not null and reference_unit_id is not null then 1 else 0 end)
        as bigint) as in_both,
    cast(current_timestamp as timestamp) as _built_at
from {{ ref('int_coverage_person_years') }}
where {{ in_changed_registry_periods(changed, 'year_start', 'year') }}
group by 1, 2, 3
