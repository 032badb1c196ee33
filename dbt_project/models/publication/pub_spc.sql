-- Monthly p-chart per unit with the unit's run-chart verdict, over the published months only
-- (fct_spc_p_chart reads disclosed counts: a hidden month has no row, limit or centre share).
select
    cast(p.registry_id as varchar(32)) as registry_id,
    cast(p.indicator_id as varchar(64)) as indicator_id,
    cast(i.name_sv as varchar(200)) as indicator_name_sv,
    cast(i.name_en as varchar(200)) as indicator_name_en,
    cast(p.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(u.region_code as varchar(6)) as region_code,
    p.period_start,
    cast(p.rate as double precision) as rate,
    cast(p.centre as double precision) as centre,
    cast(p.lcl as double precision) as lcl,
    cast(p.ucl as double precision) as ucl,
    p.special_cause,
    cast(r.median_rate as double precision) as median_rate,
    r.longest_run,
    cast(r.longest_run_max as integer) as longest_run_max,
    r.crossings,
    cast(r.crossings_min as integer) as crossings_min,
    r.non_random
from {{ ref('fct_spc_p_chart') }} as p
inner join {{ ref('indicators') }} as i on i.indicator_id = p.indicator_id
left join {{ ref('fct_spc_run_chart') }} as r
    on r.indicator_id = p.indicator_id and r.unit_id = p.unit_id
left join {{ ref('dim_unit') }} as u on u.unit_id = p.unit_id and u.registry_id = p.registry_id
