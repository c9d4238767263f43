"""The Dagster code location: definitions, jobs, partitions, resources, schedules, sensors, runner."""
