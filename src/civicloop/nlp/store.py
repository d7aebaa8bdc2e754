"""Tables of the text classifier: the operators' corrections of its suggestions.

Every time an operator confirms a different element than the one the classifier put first, the
text, both labels, who and when, and the model version that made the suggestion are kept here.
``civicloop nlp train`` reads them back (weighted above the catalogue's own sentences) so the
router learns from the people who use it. Rows are only ever appended.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from civicloop.core.db import UTCDateTime, metadata

classifier_corrections = Table(
    "classifier_corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("predicted_label", String(64), nullable=True),
    Column("chosen_label", String(64), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("model_version", String(64), nullable=False),
)
