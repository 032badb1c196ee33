{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'blodcancer__diagnos'), 'diagnosdatum') }}", "{{ delete_changed_periods(source('raw', 'blodcancer__diagnos'), 'diagnosdatum') }}"],
          indexes=base_indexes('diagnosdatum')) }}
{{ latest_rows(source('raw', 'blodcancer__diagnos'), ['person_id', 'diagnosdatum', 'diagnos'], 'diagnosdatum') }}
