-- Coverage (täckningsgrad) per unit and region and year: persons registered (in the registry,
-- found in the reference register or not) of all persons found in either, to a whole per cent,
-- where the disclosure layer lets the cell out (family coverage__<registry>). No counts: the
-- persons registered in a unit's year are the sum of its monthly registrations, so publishing them
-- would give away a hidden month of pub_registrations; and the ratio only to a whole per cent, or
-- with the months' sum it would pin the number of persons (docs/disclosure.md).
select
    cast(c.registry_id as varchar(32)) as registry_id,
    cast(c.level as varchar(8)) as level,
    cast(c.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(c.region_code as varchar(6)) as region_code,
    c.event_year,
    -- half up in floating point: the same on DuckDB and PostgreSQL (numeric rounding was not)
    cast(case when d.num_hidden then null else floor(c.coverage * 100 + 0.5) / 100 end
         as double precision) as coverage,
    d.num_hidden as suppressed
from {{ ref('fct_coverage') }} as c
inner join {{ source('disclosure', 'disclosure_cells') }} as d
    on d.indicator_id = 'coverage__' || c.registry_id and d.level = c.level
    and d.period_grain = 'year' and extract(year from d.period_start) = c.event_year
    and coalesce(d.unit_id, '') = coalesce(c.unit_id, '')
    and coalesce(d.region_code, '') = coalesce(c.region_code, '')
left join {{ ref('dim_unit') }} as u on u.unit_id = c.unit_id and u.registry_id = c.registry_id
