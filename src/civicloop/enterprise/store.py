"""Tables of the enterprise context (filled in by the enterprise work: enterprises, demands)."""
