-- Funnel-limit curves for charts: a grid over n, not any unit's own n.
select
    cast(registry_id as varchar(32)) as registry_id,
    cast(indicator_id as varchar(64)) as indicator_id,
    cast(period_grain as varchar(12)) as period_grain,
    period_start,
    denominator,
    cast(theta0 as double precision) as theta0,
    cast(lower_95 as double precision) as lower_95,
    cast(upper_95 as double precision) as upper_95,
    cast(lower_998 as double precision) as lower_998,
    cast(upper_998 as double precision) as upper_998
from {{ ref('fct_funnel_limits') }}
