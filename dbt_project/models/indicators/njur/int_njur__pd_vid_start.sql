-- pd_vid_start: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'pd_vid_start' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(forsta_modalitet in ('HD', 'PD'), false) as is_eligible,
    coalesce((forsta_modalitet in ('HD', 'PD')) and (forsta_modalitet = 'PD'), false) as is_met
from {{ ref('stg_njur__start') }}
