-- Rankability per indicator and period beside the funnel: can the units be ranked on this
-- indicator at all (rankable), or is most of their spread chance? Computed from the funnel's
-- published units only (fct_rankability, decision 0022); a dashboard that shows a comparison
-- where `rankable` is false says so and does not sort the units by value.
select
    cast(r.registry_id as varchar(32)) as registry_id,
    cast(r.indicator_id as varchar(64)) as indicator_id,
    cast(i.name_sv as varchar(200)) as indicator_name_sv,
    cast(i.name_en as varchar(200)) as indicator_name_en,
    cast(r.period_grain as varchar(12)) as period_grain,
    r.period_start,
    cast(r.n_units as bigint) as n_units,
    cast(r.theta0 as double precision) as theta0,
    cast(r.tau2 as double precision) as tau2,
    cast(r.median_s2 as double precision) as median_s2,
    cast(r.rankability as double precision) as rankability,
    r.rankable,
    cast(r.rankability_threshold as double precision) as rankability_threshold
from {{ ref('fct_rankability') }} as r
left join {{ ref('indicators') }} as i on i.indicator_id = r.indicator_id
