-- Indirect standardisation for aaa_mort_30d (age band × sex): expected E = Σ over a unit's patients
-- of the national rate in the patient's stratum that year; O/E with an exact 95 % Poisson interval.
-- Strata with few national deaths share a pooled rate (below); rate_pools counts the rates a unit's
-- E was made from.
-- From the counts per stratum in int_casemix_strata_yearly: E = Σ over strata of the unit's
-- patients × the stratum's rate. A patient without a known age is in the stratum 'okänd' (age
-- unknown) with its own national rate; patients_age_unknown says how many a unit has.
-- Interval (decision 0019): the exact (Garwood) limits χ²₀.₀₂₅(2O)/2 and χ²₀.₉₇₅(2O + 2)/2, over
-- E; O = 0 has lower limit 0. Neither warehouse has a chi-square quantile, so they come from the
-- seed poisson_limits (O = 0..1000, scipy); beyond it from Byar's (Wilson–Hilferty) formula,
-- within 6e-7 of the exact limit there. Byar's formula alone was 48 % too low at O = 1.
{% set z = normal_quantile('0.975') %}
{% set k = var('suppression_k') | int %}
with strata_units as (
    select registry_id, indicator_id, unit_id, region_code, year_start as period_start, age_band, sex,
           patients, died
    from {{ ref('int_casemix_strata_yearly') }}
),

national as (
    select indicator_id, period_start, age_band, sex, sum(died) as died, sum(patients) as patients
    from strata_units
    group by 1, 2, 3, 4
),

-- A stratum's national rate is readable from published E (E = Σ patients × rate), and so is its
-- national death count: a stratum with 1..k-1 deaths nationally must not have a rate of its own
-- (docs/disclosure.md). Such a stratum pools its age band (both sexes and unknown); an age band
-- whose pool still has 1..k-1 deaths pools the whole year (the crude rate).
band_small as (
    select indicator_id, period_start, age_band,
           max(case when died between 1 and {{ k - 1 }} then 1 else 0 end) as small,
           sum(died) as died
    from national
    group by 1, 2, 3
),

year_small as (
    select indicator_id, period_start,
           max(case when small = 1 and died between 1 and {{ k - 1 }} then 1 else 0 end) as small
    from band_small
    group by 1, 2
),

pooled as (
    select
        n.indicator_id, n.period_start, n.age_band, n.sex, n.died, n.patients,
        case
            when y.small = 1 then '*'
            when b.small = 1 then n.age_band
            else n.age_band || ' ' || n.sex
        end as pool
    from national as n
    inner join band_small as b using (indicator_id, period_start, age_band)
    inner join year_small as y using (indicator_id, period_start)
),

strata as (
    select p.indicator_id, p.period_start, p.age_band, p.sex, p.pool,
           cast(sum(p.died) over w as double precision) / sum(p.patients) over w as stratum_rate
    from pooled as p
    window w as (partition by p.indicator_id, p.period_start, p.pool)
),

units as (
    select
        u.registry_id, u.indicator_id, u.unit_id, u.region_code, u.period_start,
        cast(sum(u.patients) as bigint) as patients,
        cast(sum(case when u.age_band = 'okänd' then u.patients else 0 end) as bigint)
            as patients_age_unknown,
        cast(sum(u.died) as bigint) as observed,
        cast(sum(u.patients * s.stratum_rate) as double precision) as expected,
        cast(count(distinct s.pool) as integer) as rate_pools
    from strata_units as u
    inner join strata as s using (indicator_id, period_start, age_band, sex)
    group by 1, 2, 3, 4, 5
),

limits as (
    select
        u.*,
        coalesce(p.lower_95, case when u.observed = 0 then 0.0 else
            u.observed * power(1 - 1.0 / (9 * u.observed) - {{ z }} / (3 * sqrt(u.observed)), 3)
        end) as observed_low,
        coalesce(p.upper_95,
            (u.observed + 1) * power(1 - 1.0 / (9 * (u.observed + 1)) + {{ z }} / (3 * sqrt(u.observed + 1)), 3)
        ) as observed_high
    from units as u
    left join {{ ref('poisson_limits') }} as p on p.observed = u.observed
)

select
    registry_id,
    indicator_id,
    unit_id,
    region_code,
    period_start,
    cast('year' as varchar(12)) as period_grain,
    patients,
    patients_age_unknown,
    rate_pools,
    observed,
    expected,
    case when expected > 0 then observed / expected end as oe_ratio,
    case when expected > 0 then cast(observed_low as double precision) / expected end as oe_low,
    case when expected > 0 then cast(observed_high as double precision) / expected end as oe_high
from limits
