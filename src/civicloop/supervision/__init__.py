"""Supervision (监督再造):
supervision orders, the cross-department status board and time spent per step."""
