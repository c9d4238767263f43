"""Word sent when a run ends: a return held back, a release published or refused, a run failed.

Plain Python (no Dagster): the Dagster run-status sensors and `csc-returns run` hand the run's
outcome to `pipelines.steps.notify`, which reads the held-back returns' failing rules and sends one
message per run to the channels configured in the home (`<home>/notify.toml`): email over SMTP
and webhooks taking `{"text": ...}` (Microsoft Teams and Slack incoming webhooks). A message names
months, authorities, rules and columns, never a figure (a held-back return's figures are
unpublished). Each run is told once, whatever restarts (`ledger.py`); a channel that cannot be
reached is logged and never fails the run.
"""
