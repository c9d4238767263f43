"""Ingest: read returns, archive every file untouched, decide arrivals and supersession."""
