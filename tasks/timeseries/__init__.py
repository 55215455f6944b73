"""Time-series tasks."""
