-- Funnel-plot points: only units whose cell is published (fct_funnel reads disclosed counts).
select
    cast(f.registry_id as varchar(32)) as registry_id,
    cast(f.indicator_id as varchar(64)) as indicator_id,
    cast(i.name_sv as varchar(200)) as indicator_name_sv,
    cast(i.name_en as varchar(200)) as indicator_name_en,
    cast(f.period_grain as varchar(12)) as period_grain,
    f.period_start,
    cast(f.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(f.region_code as varchar(6)) as region_code,
    cast(f.denominator as bigint) as denominator,
    cast(f.rate as double precision) as rate,
    cast(f.theta0 as double precision) as theta0,
    cast(f.tau2 as double precision) as tau2,
    cast(f.z_adjusted as double precision) as z_adjusted,
    cast(f.lower_95 as double precision) as lower_95,
    cast(f.upper_95 as double precision) as upper_95,
    cast(f.lower_998 as double precision) as lower_998,
    cast(f.upper_998 as double precision) as upper_998,
    cast(f.outlier_flag as varchar(8)) as outlier_flag
from {{ ref('fct_funnel') }} as f
inner join {{ ref('indicators') }} as i on i.indicator_id = f.indicator_id
left join {{ ref('dim_unit') }} as u on u.unit_id = f.unit_id and u.registry_id = f.registry_id
