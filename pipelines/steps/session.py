"""A writing session on a data home, as a command or a Dagster run holds one: the writer lock for
all its writes, and the readers' snapshot refreshed once at its end (`store.warehouse.writing`)."""

from pipelines.store.warehouse import writing

__all__ = ["writing"]
