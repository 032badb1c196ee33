-- The indicator values that passed the disclosure layer (docs/disclosure.md): a hidden numerator
-- takes its rate, interval and target level with it; a hidden denominator its reliability flag.
select
    v.registry_id,
    v.indicator_id,
    v.level,
    v.unit_id,
    v.region_code,
    v.period_grain,
    v.period_start,
    v.period_end,
    case when d.num_hidden then null else v.numerator end as numerator,
    case when d.den_hidden then null else v.denominator end as denominator,
    case when d.num_hidden then null else v.rate end as rate,
    case when d.num_hidden then null else v.ci_low end as ci_low,
    case when d.num_hidden then null else v.ci_high end as ci_high,
    case when d.num_hidden then null else v.target_level end as target_level,
    case when d.den_hidden then null else v.unreliable end as unreliable,
    d.num_hidden as suppressed,
    d.den_hidden as denominator_suppressed,
    cast(d.reason as varchar(16)) as suppression_reason
from {{ ref('fct_indicator_values') }} as v
inner join {{ source('disclosure', 'disclosure_cells') }} as d
    on d.indicator_id = v.indicator_id and d.level = v.level
    and d.period_grain = v.period_grain and d.period_start = v.period_start
    and coalesce(d.unit_id, '') = coalesce(v.unit_id, '')
    and coalesce(d.region_code, '') = coalesce(v.region_code, '')
