"""Efficiency evaluation:
KPI definitions and engine, incremental rollups, rankings, exports and monthly reports."""
