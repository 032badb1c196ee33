-- ledtid_svf: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'ledtid_svf' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(behandlingsstart is not null and valgrundad_misstanke is not null, false) as is_eligible,
    coalesce((behandlingsstart is not null and valgrundad_misstanke is not null) and ({{ dbt.datediff('valgrundad_misstanke', 'behandlingsstart', 'day') }} <= {{ var('svf_max_days') }}), false) as is_met
from {{ ref('stg_blodcancer__diagnos') }}
