-- vid_behov_angest: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'vid_behov_angest' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(vantat_dodsfall = '1', false) as is_eligible,
    coalesce((vantat_dodsfall = '1') and (vid_behov_angest = '1'), false) as is_met
from {{ ref('stg_palliativ__dodsfall') }}
