"""Tables of free-text intake (filled in by the intake work: the gazetteer, the triage queue)."""
