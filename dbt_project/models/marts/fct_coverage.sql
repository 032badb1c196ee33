-- Coverage (täckningsgrad) per unit, region and calendar year of the event, from the persons
-- linked in int_coverage_yearly: coverage = (A + C) / (A + B + C).
with per_unit as (
    select
        c.registry_id, c.unit_id, u.region_code, cast(extract(year from c.year_start) as integer) as event_year,
        c.only_registry, c.only_reference, c.in_both
    from {{ ref('int_coverage_yearly') }} as c
    left join {{ ref('dim_unit') }} as u on u.unit_id = c.unit_id and u.registry_id = c.registry_id
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
