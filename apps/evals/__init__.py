"""Understanding evals: scripted phone callers (YAML, `suites/`) run against the embedded stack through the ACS
simulator, judged on what the agent did (tools and arguments, agents, spoken facts, forbidden actions).

    switchboard eval                      # every suite under apps/evals/suites
    switchboard eval banking --voice espeak-f3 --concurrency 2 --json var/evals/report.json
"""
