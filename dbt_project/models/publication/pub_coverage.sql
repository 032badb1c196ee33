-- Coverage (täckningsgrad) per unit and region and year: persons registered (in the registry,
-- found in the reference register or not) of all persons found in either, as the disclosure
-- layer lets them out (src/regbench/disclosure: family coverage__<registry>, one cell per unit or
-- region and year). A hidden cell shows no count and no coverage.
select
    cast(c.registry_id as varchar(32)) as registry_id,
    cast(c.level as varchar(8)) as level,
    cast(c.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(c.region_code as varchar(6)) as region_code,
    c.event_year,
    cast(case when d.num_hidden then null else c.only_registry + c.in_both end as bigint)
        as registered,
    cast(case when d.num_hidden then null else c.only_reference end as bigint) as only_reference,
    cast(case when d.den_hidden then null
              else c.only_registry + c.only_reference + c.in_both end as bigint) as persons,
    case when d.num_hidden then null else c.coverage end as coverage,
    d.num_hidden as suppressed,
    cast(d.reason as varchar(16)) as suppression_reason
from {{ ref('fct_coverage') }} as c
inner join {{ source('disclosure', 'disclosure_cells') }} as d
    on d.indicator_id = 'coverage__' || c.registry_id and d.level = c.level
    and d.period_grain = 'year' and extract(year from d.period_start) = c.event_year
    and coalesce(d.unit_id, '') = coalesce(c.unit_id, '')
    and coalesce(d.region_code, '') = coalesce(c.region_code, '')
left join {{ ref('dim_unit') }} as u on u.unit_id = c.unit_id and u.registry_id = c.registry_id
