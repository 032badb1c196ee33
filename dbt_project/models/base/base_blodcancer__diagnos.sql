{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'blodcancer__diagnos'), 'diagnosdatum') }}") }}
{{ latest_rows(source('raw', 'blodcancer__diagnos'), ['person_id', 'diagnosdatum', 'diagnos'], 'diagnosdatum') }}
