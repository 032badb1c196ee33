{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'njur__referens'), 'handelsedatum') }}") }}
{{ latest_rows(source('raw', 'njur__referens'), ['person_id', 'handelsedatum'], 'handelsedatum') }}
