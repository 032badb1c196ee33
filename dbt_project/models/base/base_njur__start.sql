{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'njur__start'), 'startdatum') }}", "{{ delete_changed_periods(source('raw', 'njur__start'), 'startdatum') }}"],
          indexes=base_indexes('startdatum')) }}
{{ latest_rows(source('raw', 'njur__start'), ['person_id', 'startdatum'], 'startdatum') }}
