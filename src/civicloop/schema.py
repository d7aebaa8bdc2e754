"""Every table of every context on one ``metadata``: imported by Alembic and by tests."""

from civicloop.cases import store as cases_store
from civicloop.core.db import metadata
from civicloop.discovery import alert_store as discovery_alert_store
from civicloop.discovery import store as discovery_store
from civicloop.enterprise import store as enterprise_store
from civicloop.evaluation import store as evaluation_store
from civicloop.intake import store as intake_store
from civicloop.ledger import store as ledger_store
from civicloop.nlp import store as nlp_store
from civicloop.open311 import store as open311_store
from civicloop.org import store as org_store
from civicloop.registry import links as registry_links
from civicloop.registry import store as registry_store
from civicloop.risk import store as risk_store
from civicloop.supervision import store as supervision_store

__all__ = [
    "cases_store",
    "discovery_alert_store",
    "discovery_store",
    "enterprise_store",
    "evaluation_store",
    "intake_store",
    "ledger_store",
    "metadata",
    "nlp_store",
    "open311_store",
    "org_store",
    "registry_links",
    "registry_store",
    "risk_store",
    "supervision_store",
]
