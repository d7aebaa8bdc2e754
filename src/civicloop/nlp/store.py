"""Tables of the text classifier (filled in by the nlp work: operator corrections, model versions)."""
