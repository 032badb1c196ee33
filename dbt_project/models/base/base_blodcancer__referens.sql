{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'blodcancer__referens'), 'handelsedatum') }}") }}
{{ latest_rows(source('raw', 'blodcancer__referens'), ['person_id', 'handelsedatum'], 'handelsedatum') }}
