"""A labelled set for the embedded guidance engine, written as callers talk on the phone (lower case, no
punctuation, the way the recogniser hands turns over, with a few typed ones). Not used to build the lexicon:
the test reports and checks the engine's accuracy on it."""

from __future__ import annotations

TONE_SNIPPETS: list[tuple[str, str]] = [
    # calm
    ("calm", "hi i'd like to check my checking balance please"),
    ("calm", "sure my name is jordan rivera"),
    ("calm", "the last four are four eight two one"),
    ("calm", "it happened yesterday on main street"),
    ("calm", "okay that sounds good thank you"),
    ("calm", "i want to order a replacement card"),
    ("calm", "yes that's right"),
    ("calm", "my policy number is a u four eight two nine one three"),
    ("calm", "i have a sore throat since monday"),
    ("calm", "no that's everything thanks for your help"),
    # confused
    ("confused", "sorry what do you mean by the last four"),
    ("confused", "i don't understand which account you need"),
    ("confused", "wait i'm confused is that my deductible or my limit"),
    ("confused", "huh i'm not sure what you're asking"),
    ("confused", "what does that mean for my claim"),
    ("confused", "i'm lost which number is the policy number"),
    ("confused", "how do i find my card number"),
    ("confused", "sorry can you explain that again i don't get it"),
    ("confused", "what am i supposed to say here"),
    ("confused", "i don't know which card you mean"),
    # frustrated
    ("frustrated", "i already told you my name twice"),
    ("frustrated", "this is the third time i'm calling about this"),
    ("frustrated", "it's still not working after all that"),
    ("frustrated", "how many times do i have to give you my policy number"),
    ("frustrated", "i've been waiting for this replacement card forever"),
    ("frustrated", "come on you keep asking me the same question"),
    ("frustrated", "this is so frustrating nobody ever calls me back"),
    ("frustrated", "every time i call i get a different answer"),
    ("frustrated", "i already gave you the date of the accident"),
    ("frustrated", "seriously again the line dropped last time"),
    # angry
    ("angry", "this is ridiculous you charged me twice"),
    ("angry", "this is completely unacceptable i want a manager"),
    ("angry", "i'm furious you people lost my claim"),
    ("angry", "you are useless just put me through to someone who can help"),
    ("angry", "i'm sick of this i'm going to close my account"),
    ("angry", "this is the worst service i have ever had"),
    ("angry", "i'll be calling my lawyer about this"),
    ("angry", "how dare you freeze my card without asking me"),
    ("angry", "what a pathetic excuse for a bank"),
    ("angry", "i am so angry right now you have no idea"),
    # distressed
    ("distressed", "please help me someone took all the money out of my account"),
    ("distressed", "i'm scared my house is flooding and i don't know what to do"),
    ("distressed", "i'm so worried my son was in the car"),
    ("distressed", "it really hurts and i can't stop shaking"),
    ("distressed", "i'm panicking i think someone stole my identity"),
    ("distressed", "i'm crying sorry i just had an accident"),
    ("distressed", "the pain is unbearable i'm frightened"),
    ("distressed", "i'm afraid i'm losing everything please help"),
    ("distressed", "i'm desperate the rent is due and my card is blocked"),
    ("distressed", "it's an emergency my wallet was stolen and i'm stranded"),
]

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
