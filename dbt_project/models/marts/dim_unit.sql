select
    unit_id,
    registry_id,
    unit_name,
    county_code,
    region_code
from {{ ref('units') }}
