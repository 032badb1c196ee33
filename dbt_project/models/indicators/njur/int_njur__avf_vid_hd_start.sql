-- avf_vid_hd_start: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'avf_vid_hd_start' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(forsta_modalitet = 'HD', false) as is_eligible,
    coalesce((forsta_modalitet = 'HD') and (forsta_access in ('AVF', 'AVG')), false) as is_met
from {{ ref('stg_njur__start') }}
