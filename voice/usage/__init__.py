"""What every call used (tokens, audio seconds, characters, minutes), per provider, model and agent, and what it
cost: `amounts` (the shapes), `ledger` (one call's running totals and the per-call meter providers report to),
`prices` (the price table that turns usage into money)."""
