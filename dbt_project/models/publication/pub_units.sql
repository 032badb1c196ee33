select
    cast(unit_id as varchar(64)) as unit_id,
    cast(registry_id as varchar(32)) as registry_id,
    cast(unit_name as varchar(200)) as unit_name,
    cast(region_code as varchar(6)) as region_code
from {{ ref('dim_unit') }}
