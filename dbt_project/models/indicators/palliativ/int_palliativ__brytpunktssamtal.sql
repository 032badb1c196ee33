-- brytpunktssamtal: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'brytpunktssamtal' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(vantat_dodsfall = '1', false) as is_eligible,
    coalesce((vantat_dodsfall = '1') and (brytpunktssamtal = '1'), false) as is_met
from {{ ref('stg_palliativ__dodsfall') }}
