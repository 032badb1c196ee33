-- mdk: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'mdk' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(true, false) as is_eligible,
    coalesce((true) and (mdk = '1'), false) as is_met
from {{ ref('stg_blodcancer__diagnos') }}
