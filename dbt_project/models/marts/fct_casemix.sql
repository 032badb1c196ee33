-- Indirect standardisation for aaa_mort_30d (age band × sex): expected E = Σ over a unit's patients
-- of the national rate in the patient's stratum that year; O/E with a 95 % interval (Byar's
-- approximation to the exact Poisson interval).
{% set z = 1.959964 %}
with patients as (
    select
        registry_id, indicator_id, unit_id, region_code,
        cast({{ dbt.date_trunc('year', 'event_date') }} as date) as period_start,
        case
            when extract(year from event_date) - birth_year < 65 then '<65'
            when extract(year from event_date) - birth_year < 75 then '65-74'
            when extract(year from event_date) - birth_year < 85 then '75-84'
            else '85+'
        end as age_band,
        coalesce(sex, 'okänt') as sex,
        case when is_met then 1 else 0 end as died
    from {{ ref('int_swedvasc__aaa_mort_30d') }}
    where is_eligible
),

strata as (
    select indicator_id, period_start, age_band, sex, avg(cast(died as double precision)) as stratum_rate
    from patients
    group by 1, 2, 3, 4
),

units as (
    select
        p.registry_id, p.indicator_id, p.unit_id, p.region_code, p.period_start,
        cast(count(*) as bigint) as patients,
        cast(sum(p.died) as bigint) as observed,
        cast(sum(s.stratum_rate) as double precision) as expected
    from patients as p
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
