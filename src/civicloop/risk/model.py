"""Domain model of the risk context: dataclasses and pure rules (no SQLAlchemy, FastAPI or pydantic)."""

from __future__ import annotations
