"""Every table of every context on one ``metadata``: imported by Alembic and by tests."""

from civicloop.cases import store as cases_store
from civicloop.core.db import metadata
from civicloop.enterprise import store as enterprise_store
from civicloop.intake import store as intake_store
from civicloop.ledger import store as ledger_store
from civicloop.nlp import store as nlp_store
from civicloop.open311 import store as open311_store
from civicloop.org import store as org_store

__all__ = [
    "cases_store",
    "enterprise_store",
    "intake_store",
    "ledger_store",
    "metadata",
    "nlp_store",
    "open311_store",
    "org_store",
]
