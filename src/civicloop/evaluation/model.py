"""Domain model of the evaluation context: dataclasses and pure rules (no SQLAlchemy, FastAPI or pydantic)."""

from __future__ import annotations
