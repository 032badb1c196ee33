{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'njur__start'), 'startdatum') }}") }}
{{ latest_rows(source('raw', 'njur__start'), ['person_id', 'startdatum'], 'startdatum') }}
