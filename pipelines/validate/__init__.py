"""Validate: the rule book evaluated over tables (no database), waivers, a month's verdict."""
