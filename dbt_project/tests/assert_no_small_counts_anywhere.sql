-- No published count lies in 1..k-1, and no rate's numerator or complement can be derived.
{% set k = var('suppression_k') %}
select 'values' as relation, indicator_id
from {{ ref('pub_indicator_values') }}
where numerator between 1 and {{ k - 1 }} or denominator between 1 and {{ k - 1 }}
   or (denominator - numerator) between 1 and {{ k - 1 }}
   or (rate is not null and numerator is null)
union all
select 'casemix', indicator_id
from {{ ref('pub_casemix') }}
where observed between 1 and {{ k - 1 }} or patients between 1 and {{ k - 1 }}
   or (observed is null and (expected is not null or oe_ratio is not null))
union all
select 'coverage', registry_id
from {{ ref('pub_coverage') }}
where suppressed and coverage is not null
union all
select 'registrations', registry_id
from {{ ref('pub_registrations') }}
where registrations between 1 and {{ k - 1 }}
   or (registrations is null and (ratio_to_median is not null or lag_median_days is not null))
