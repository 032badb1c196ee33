-- No published numerator, denominator or complement lies in 1..k-1 (DOMAIN.md).
{% set k = var('suppression_k') %}
select indicator_id, unit_id, period_start
from {{ ref('pub_indicator_monthly') }}
where numerator between 1 and {{ k - 1 }}
   or denominator between 1 and {{ k - 1 }}
   or (denominator - numerator) between 1 and {{ k - 1 }}
