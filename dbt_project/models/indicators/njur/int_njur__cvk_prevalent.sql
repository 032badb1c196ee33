-- cvk_prevalent: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'cvk_prevalent' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(modalitet = 'HD', false) as is_eligible,
    coalesce((modalitet = 'HD') and (access = 'CVK'), false) as is_met
from {{ ref('stg_njur__prevalens') }}
