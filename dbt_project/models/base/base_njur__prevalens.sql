{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'njur__prevalens'), 'arsdatum') }}") }}
{{ latest_rows(source('raw', 'njur__prevalens'), ['person_id', 'arsdatum'], 'arsdatum') }}
