"""Snapshot of the code location: a change to assets, checks, jobs, schedules or sensors shows in review.

After an intended change, regenerate and commit the snapshot:

    CSC_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/orchestration/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipelines.orchestration.definitions import defs

SNAPSHOT = Path(__file__).with_name("snapshots") / "definitions.json"


def describe() -> dict:
    repository = defs.get_repository_def()
    graph = repository.asset_graph
    jobs = {}
    for job in sorted(repository.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            "checks": sorted(k.to_user_string() for k in job.asset_layer.asset_graph.asset_check_keys),
            "executor": job.executor_def.name,
            "partitioned": job.partitions_def is not None,
        }
    return {
        "assets": {
            key.to_user_string(): {
                "group": graph.get(key).group_name,
                "partitions": str(graph.get(key).partitions_def),
                "deps": sorted(k.to_user_string() for k in graph.get(key).parent_keys),
            }
            for key in sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
        },
        "checks": {
            key.to_user_string(): {"blocking": graph.get_check_spec(key).blocking}
            for key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string())
        },
        "jobs": jobs,
        # The resources every job runs with, by class (a partial one is configured when a run starts).
        "resources": {
            key: getattr(resource, "resource_cls", type(resource)).__name__
            for key, resource in sorted(defs.resources.items())
        },
        "schedules": {
            s.name: {
                "cron": s.cron_schedule,
                "timezone": s.execution_timezone,
                "job": s.job_name,
                "default_status": s.default_status.value,
            }
            for s in repository.schedule_defs
        },
        "sensors": {
            s.name: {
                "job": s.job_name if s.has_jobs else None,  # a run-status sensor starts no job
                "minimum_interval_seconds": s.minimum_interval_seconds,
                "default_status": s.default_status.value,
            }
            for s in repository.sensor_defs
        },
    }


def test_definitions_match_the_snapshot():
    configured = [v for v in ("CSC_RELEASE_CRON", "CSC_AUTOMATION", "CSC_PUBLISH_DESTINATION") if os.environ.get(v)]
    if configured:
        pytest.skip(f"{', '.join(configured)} set: the snapshot records the defaults")
    current = describe()
    if os.environ.get("CSC_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text()), (
        "the code location changed: review the difference, then regenerate with CSC_UPDATE_SNAPSHOTS=1"
    )
