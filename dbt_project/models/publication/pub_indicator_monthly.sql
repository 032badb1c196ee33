-- Unit values per month: the slice of pub_indicator_values most dashboards start from
-- (same suppression).
select
    registry_id,
    indicator_id,
    indicator_name_sv,
    indicator_name_en,
    unit_id,
    unit_name,
    region_code,
    period_start,
    cast(period_grain as varchar(8)) as period_grain,
    numerator,
    denominator,
    rate,
    ci_low,
    ci_high,
    target_level,
    unreliable,
    suppressed
from {{ ref('pub_indicator_values') }}
where level = 'unit' and period_grain = 'month'
