-- Registration frequency and timeliness per unit and month for the registry managers. Counts
-- 1..k-1 are not shown; the collapse signal (below half the unit's trailing 12-month median, or
-- nothing at all) is, because it is what needs a call.
{% set k = var('suppression_k') %}
select
    cast(r.registry_id as varchar(32)) as registry_id,
    cast(r.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(r.region_code as varchar(6)) as region_code,
    r.period_start,
    case when r.registrations between 1 and {{ k - 1 }} then null else r.registrations end
        as registrations,
    r.trailing_12m_median,
    case when r.registrations between 1 and {{ k - 1 }} then null else r.ratio_to_median end
        as ratio_to_median,
    coalesce(r.trailing_12m_median >= {{ k }} and r.ratio_to_median < 0.5, false) as collapse_signal,
    case when r.registrations between 1 and {{ k - 1 }} then null else r.lag_median_days end
        as lag_median_days,
    case when r.registrations between 1 and {{ k - 1 }} then null else r.lag_p90_days end
        as lag_p90_days,
    r.registrations between 1 and {{ k - 1 }} as suppressed
from {{ ref('fct_registrations_monthly') }} as r
left join {{ ref('dim_unit') }} as u on u.unit_id = r.unit_id and u.registry_id = r.registry_id
