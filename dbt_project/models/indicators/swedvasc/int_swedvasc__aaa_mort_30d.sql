-- aaa_mort_30d: one row per registration, flagged eligible (denominator) and met (numerator).
-- A death 0..30 days after the operation counts. A death dated before the operation is a data
-- error the door rejects (date_order in registries/swedvasc.yaml); should one reach the
-- warehouse anyway, its outcome is unknown: neither a death nor a survivor, so not eligible.
select
    registry_id,
    'aaa_mort_30d' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(ingreppstyp = 'AAA' and elektiv = '1' and (dodsdatum is null or dodsdatum >= event_date), false)
        as is_eligible,
    coalesce((ingreppstyp = 'AAA' and elektiv = '1') and (dodsdatum is not null and {{ dbt.datediff('event_date', 'dodsdatum', 'day') }} between 0 and 30), false) as is_met
from {{ ref('stg_swedvasc__operation') }}
