"""A labelled set for the embedded guidance engine, written as callers talk on the phone (lower case, no
punctuation, the way the recogniser hands turns over, with a few typed ones). Not used to build the lexicon:
the test reports and checks the engine's accuracy on it."""

from __future__ import annotations

from voice.guidance.tone_first_set import FIRST_TONE_SNIPPETS

TONE_SNIPPETS: list[tuple[str, str]] = list(
    FIRST_TONE_SNIPPETS
)  # now in the product: the tone reader learns from it

# (scenario, turns as (speaker, text, tools), expected status per checklist item id)
CHECKLIST_CASES: list[tuple[str, list[tuple[str, str, tuple[str, ...]]], dict[str, str]]] = [
    (
        "banking",
        [
            ("agent", "thank you for calling contoso bank how can i help", ()),
            ("caller", "what's my balance", ()),
            ("agent", "thank you jordan you're verified your checking balance is 2450 dollars", ("verify_identity", "get_balance")),
            ("agent", "is there anything else i can help you with", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "done"},
    ),
    (
        "banking",
        [
            ("caller", "i lost my card", ()),
            ("agent", "you're now with card services", ("handoff_card_services",)),
            ("caller", "my name is jordan rivera and the last four are four eight two one", ()),
            ("agent", "thank you jordan you're verified", ("verify_identity",)),
            ("agent", "i've ordered a replacement it should arrive by november 25th", ("order_replacement_card",)),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "missing"},
    ),
    (
        "banking",
        [
            ("caller", "get me a real person", ()),
            ("agent", "of course i'm connecting you with a member of our team now", ("transfer_to_human",)),
        ],
        {"identity_verified": "not_applicable", "reason_captured": "not_applicable", "next_steps_stated": "not_applicable", "resolution_confirmed": "not_applicable"},
    ),
    (
        "banking",
        [("caller", "hello", ()), ("agent", "how can i help you today", ())],
        {"identity_verified": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance",
        [
            ("caller", "i need to file a claim my policy is a u four eight two nine one three", ()),
            ("agent", "i found jordan's auto policy", ("lookup_policy",)),
            ("agent", "your claim is filed your claim number is 7 0 0 1 0 0 3 an adjuster will contact you", ("file_claim",)),
            ("agent", "is there anything else", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "done"},
    ),
    (
        "insurance",
        [
            ("caller", "what's my deductible", ()),
            ("agent", "what's your policy number", ()),
        ],
        {"policy_confirmed": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "triage",
        [
            ("agent", "i'm a virtual assistant not a nurse and i can't give medical advice what's the main reason for your call", ()),
            ("caller", "i have a bad headache", ()),
            ("agent", "when did it start", ()),
            ("caller", "yesterday", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage",
        [
            ("agent", "i can't give medical advice", ()),
            ("caller", "i can't breathe", ()),
            ("agent", "that can be serious i'm connecting you with a nurse right now", ("transfer_to_nurse",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "not_applicable", "read_back_confirmed": "not_applicable", "intake_recorded": "not_applicable", "next_steps_stated": "done"},
    ),
    (
        "triage",
        [
            ("agent", "let me read that back to make sure i have it right is that right", ()),
            ("caller", "yes", ()),
            ("agent", "thank you i've recorded your answers and a nurse will call you back shortly", ("submit_triage_intake",)),
        ],
        {"disclaimer_given": "missing", "reason_captured": "missing", "read_back_confirmed": "done", "intake_recorded": "done", "next_steps_stated": "done"},
    ),
]  # fmt: skip
