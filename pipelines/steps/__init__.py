"""The steps: what the Dagster assets and the command line ask of the pipeline, and nothing else.

Each step composes the stages in order over a data home given as a value: it reads what it needs
once, hands plain tables from one stage to the next and writes once. `monthly` holds the steps of
a monthly run (archive, validate, store, publish, scorecard), `steward` what a data steward asks
and decides between runs, `reference` the import of reference data, `validate_files` an analyst's
check of returns before they are sent.
"""
