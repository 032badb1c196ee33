-- Registration frequency and timeliness per unit and month for the registry managers, as the
-- disclosure layer lets them out (family registrations__<registry>): a hidden month shows no
-- count, ratio or lag; the trailing median only when none of the twelve months it is taken over
-- is hidden (a median can be a hidden month's count). The collapse signal (below half the unit's
-- trailing 12-month median, or nothing at all) only on a published month: on a hidden one it
-- bounded the count below half a published median, which pinned it to 1..4 (an outside review);
-- the registry managers' unit findings still say when a unit's registrations collapsed.
{% set k = var('suppression_k') %}
with r as (
    select
        r.*,
        d.den_hidden as hidden,
        d.reason,
        sum(case when d.den_hidden then 1 else 0 end) over (
            partition by r.registry_id, r.unit_id order by r.period_start
            range between interval '12 months' preceding and interval '1 month' preceding)
            as hidden_in_window
    from {{ ref('fct_registrations_monthly') }} as r
    inner join {{ source('disclosure', 'disclosure_cells') }} as d
        on d.indicator_id = 'registrations__' || r.registry_id and d.level = 'unit'
        and d.unit_id = r.unit_id and d.period_grain = 'month' and d.period_start = r.period_start
)

select
    cast(r.registry_id as varchar(32)) as registry_id,
    cast(r.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(r.region_code as varchar(6)) as region_code,
    r.period_start,
    case when r.hidden then null else r.registrations end as registrations,
    case when coalesce(r.hidden_in_window, 0) > 0 then null else r.trailing_12m_median end
        as trailing_12m_median,
    case when r.hidden or coalesce(r.hidden_in_window, 0) > 0 then null else r.ratio_to_median end
        as ratio_to_median,
    case when r.hidden then null else
        coalesce(r.trailing_12m_median >= {{ k }} and r.ratio_to_median < 0.5, false) end
        as collapse_signal,
    case when r.hidden then null else r.lag_median_days end as lag_median_days,
    case when r.hidden then null else r.lag_p90_days end as lag_p90_days,
    r.hidden as suppressed
from r
left join {{ ref('dim_unit') }} as u on u.unit_id = r.unit_id and u.registry_id = r.registry_id
