"""Every table of every context on one ``metadata``: imported by Alembic and by tests."""

from civicloop.cases import store as cases_store
from civicloop.core.db import metadata
from civicloop.ledger import store as ledger_store
from civicloop.org import store as org_store

__all__ = ["cases_store", "ledger_store", "metadata", "org_store"]
