{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'swedvasc__referens'), 'handelsedatum') }}", "{{ delete_changed_periods(source('raw', 'swedvasc__referens'), 'handelsedatum') }}"],
          indexes=base_indexes('handelsedatum')) }}
{{ latest_rows(source('raw', 'swedvasc__referens'), ['person_id', 'handelsedatum'], 'handelsedatum') }}
