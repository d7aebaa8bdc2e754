"""Risk and credit:
versioned scorecards, credit grades, risk heat per grid and street, and risk-tilted inspection draws."""
