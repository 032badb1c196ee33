-- Indirect standardisation for aaa_mort_30d (age band × sex): expected E = Σ over a unit's patients
-- of the national rate in the patient's stratum that year; O/E with a 95 % interval (Byar's
-- approximation to the exact Poisson interval). From the counts per stratum in
-- int_casemix_strata_yearly: E = Σ over strata of the unit's patients × the stratum's rate.
{% set z = 1.959964 %}
with strata_units as (
    select registry_id, indicator_id, unit_id, region_code, year_start as period_start, age_band, sex,
           patients, died
    from {{ ref('int_casemix_strata_yearly') }}
),

strata as (
    select indicator_id, period_start, age_band, sex,
           cast(sum(died) as double precision) / sum(patients) as stratum_rate
    from strata_units
    group by 1, 2, 3, 4
),

units as (
    select
        u.registry_id, u.indicator_id, u.unit_id, u.region_code, u.period_start,
        cast(sum(u.patients) as bigint) as patients,
        cast(sum(u.died) as bigint) as observed,
        cast(sum(u.patients * s.stratum_rate) as double precision) as expected
    from strata_units as u
    inner join strata as s using (indicator_id, period_start, age_band, sex)
    group by 1, 2, 3, 4, 5
)

select
    registry_id,
    indicator_id,
    unit_id,
    region_code,
    period_start,
    cast('year' as varchar(12)) as period_grain,
    patients,
    observed,
    expected,
    case when expected > 0 then observed / expected end as oe_ratio,
    case when expected > 0 then
        case when observed = 0 then 0.0
        else observed * power(1 - 1.0 / (9 * observed) - {{ z }} / (3 * sqrt(observed)), 3) / expected
        end
    end as oe_low,
    case when expected > 0 then
        (observed + 1) * power(1 - 1.0 / (9 * (observed + 1)) + {{ z }} / (3 * sqrt(observed + 1)), 3)
        / expected
    end as oe_high
from units
