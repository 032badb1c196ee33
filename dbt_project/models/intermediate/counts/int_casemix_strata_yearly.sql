-- Eligible patients and deaths per unit, calendar year, age band and sex for the indicators that
-- are standardised by case mix (aaa_mort_30d). Incremental per (registry, year) like
-- int_coverage_yearly, so fct_casemix no longer reads every operation of history each night.
{{ config(pre_hook="{{ delete_changed_registry_periods('year_start', 'year') }}") }}
{%- set changed = changed_registry_periods('year_start', 'year') %}

select
    registry_id,
    indicator_id,
    unit_id,
    region_code,
    cast({{ dbt.date_trunc('year', 'event_date') }} as date) as year_start,
    -- a patient without a birth year (a reserve number) is not 85+: 'okänd' is a stratum of its
    -- own, with its own national rate, as a missing sex is 'okänt' (issue 22)
    case
        when birth_year is null then 'okänd'
        when extract(year from event_date) - birth_year < 65 then '<65'
        when extract(year from event_date) - birth_year < 75 then '65-74'
        when extract(year from event_date) - birth_year < 85 then '75-84'
        else '85+'
    end as age_band,
    coalesce(sex, 'okänt') as sex,
    cast(count(*) as bigint) as patients,
    cast(sum(case when is_met then 1 else 0 end) as bigint) as died,
    cast(current_timestamp as timestamp) as _built_at
from {{ ref('int_swedvasc__aaa_mort_30d') }}
where is_eligible and {{ in_changed_registry_periods(changed, 'event_date', 'year') }}
group by 1, 2, 3, 4, 5, 6, 7
