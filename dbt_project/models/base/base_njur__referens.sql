{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'njur__referens'), 'handelsedatum') }}", "{{ delete_changed_periods(source('raw', 'njur__referens'), 'handelsedatum') }}"],
          indexes=base_indexes('handelsedatum')) }}
{{ latest_rows(source('raw', 'njur__referens'), ['person_id', 'handelsedatum'], 'handelsedatum') }}
