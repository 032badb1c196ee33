-- Coverage (täckningsgrad) per unit, region and calendar year of the event: persons linked on the
-- pseudonym between the registry and its reference register. A = only in the registry,
-- B = only in the reference, C = in both; coverage = (A + C) / (A + B + C).
with reg as (
    select registry_id, person_id, extract(year from event_date) as event_year,
           min(unit_id) as unit_id
    from {{ ref('int_registrations') }}
    group by 1, 2, 3
),

ref as (
    select registry_id, person_id, extract(year from event_date) as event_year,
           min(unit_id) as unit_id
    from {{ ref('int_references') }}
    group by 1, 2, 3
),

linked as (
    select
        coalesce(reg.registry_id, ref.registry_id) as registry_id,
        coalesce(reg.unit_id, ref.unit_id) as unit_id,
        coalesce(reg.event_year, ref.event_year) as event_year,
        case when ref.person_id is null then 'A' when reg.person_id is null then 'B' else 'C' end
            as category
    from reg
    full outer join ref
        on ref.registry_id = reg.registry_id and ref.person_id = reg.person_id
        and ref.event_year = reg.event_year
),

per_unit as (
    select
        l.registry_id, l.unit_id, u.region_code, cast(l.event_year as integer) as event_year,
        sum(case when category = 'A' then 1 else 0 end) as only_registry,
        sum(case when category = 'B' then 1 else 0 end) as only_reference,
        sum(case when category = 'C' then 1 else 0 end) as in_both
    from linked as l
    left join {{ ref('dim_unit') }} as u on u.unit_id = l.unit_id and u.registry_id = l.registry_id
    group by 1, 2, 3, 4
),

levels as (
    select registry_id, 'unit' as level, unit_id, region_code, event_year,
           only_registry, only_reference, in_both
    from per_unit
    union all
    select registry_id, 'region', null, region_code, event_year,
           sum(only_registry), sum(only_reference), sum(in_both)
    from per_unit where region_code is not null
    group by 1, 4, 5
)

select
    registry_id,
    cast(level as varchar(8)) as level,
    unit_id,
    region_code,
    event_year,
    cast(only_registry as bigint) as only_registry,
    cast(only_reference as bigint) as only_reference,
    cast(in_both as bigint) as in_both,
    cast(only_registry + in_both as double precision)
        / nullif(only_registry + only_reference + in_both, 0) as coverage
from levels
