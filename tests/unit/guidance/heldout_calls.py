"""A second held-out set for the embedded guidance engine: 46 call snippets (a few turns each, across the three
shipped scenarios), every one labelled for both the caller's tone now and each checklist item's status.

Written in one sitting, after the engine, and labelled before the engine was first run on it; nothing in the
engine was changed afterwards to fit it. The labels are what a supervisor reading the snippet would say, by
each checklist item's description, not what the rules would match: agents here are worded the way the
shipped local brain speaks in some snippets and the way a chat model might in others (so agent-wording items
are often missed), and callers describe their moods in their own words. Turn text is lower case where the
recogniser wrote it (callers) and as generated (agents).

Shape: (scenario, tone, turns as (speaker, text, tools that ran), expected status per checklist item id)."""

from __future__ import annotations

Turn = tuple[str, str, tuple[str, ...]]

HELDOUT_CALLS: list[tuple[str, str, list[Turn], dict[str, str]]] = [
    # --- banking: identity_verified, reason_captured, next_steps_stated, resolution_confirmed -------------
    (
        "banking", "calm",
        [
            ("agent", "Thanks for calling Contoso Bank, how can I help today?", ()),
            ("caller", "hi yes i wanted to see if my paycheck went in", ()),
            ("agent", "I can check that. Can I get your name and the last four of your card?", ()),
            ("caller", "sure it's dana okafor and it's five five one nine", ()),
            ("agent", "Thanks Dana, you're verified. Your direct deposit of 1,820 dollars posted this morning.", ("verify_identity", "get_recent_transactions")),
            ("caller", "oh perfect that's all i needed", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "confused",
        [
            ("caller", "i got a text saying my card was locked but i didn't lock it", ()),
            ("agent", "I can look into that. First I need to verify you. What's your full name?", ()),
            ("caller", "wait do you mean the name on the card or my legal name they're different", ()),
        ],
        {"identity_verified": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "frustrated",
        [
            ("agent", "Contoso Bank, how can I help?", ()),
            ("caller", "i'm calling about a charge i disputed two weeks ago", ()),
            ("agent", "I can help. Can you verify your name and the last four digits of your card?", ()),
            ("caller", "i gave all that to the last person i spoke to why doesn't anyone write it down", ()),
        ],
        {"identity_verified": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "angry",
        [
            ("caller", "you closed my account without telling me and now my rent bounced", ()),
            ("agent", "I'm sorry to hear that. Let me verify your identity first.", ()),
            ("caller", "no i'm not doing any of your verification garbage get me someone in charge now", ()),
            ("agent", "Understood, I'm transferring you to a member of our team.", ("transfer_to_human",)),
        ],
        {"identity_verified": "not_applicable", "reason_captured": "not_applicable", "next_steps_stated": "not_applicable", "resolution_confirmed": "not_applicable"},
    ),
    (
        "banking", "distressed",
        [
            ("caller", "someone's been taking money out of my account all night and i have nothing left for my kids", ()),
            ("agent", "I'm so sorry, let's stop that right away. You're verified, and I've locked your card so no new purchases can go through.", ("verify_identity", "lock_card")),
            ("caller", "okay okay thank you i just i don't know how we're going to eat this week", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "calm",
        [
            ("caller", "i lost my debit card at the gym i think", ()),
            ("agent", "Sorry about that. I've verified you and locked the card. Would you like a replacement?", ("verify_identity", "lock_card")),
            ("caller", "yes please send it to my home address", ()),
            ("agent", "Done, the new card should arrive by Thursday the 12th. Anything else I can do for you?", ("order_replacement_card",)),
            ("caller", "no that's great thanks", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "done"},
    ),
    (
        "banking", "confused",
        [
            ("caller", "i want to move money from savings to checking", ()),
            ("agent", "Sure. You're verified. How much would you like to move?", ("verify_identity",)),
            ("caller", "um how much is in savings i'm not sure how this works do i lose interest if i move it", ()),
        ],
        {"identity_verified": "done", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "frustrated",
        [
            ("agent", "Thank you for waiting. How can I help?", ()),
            ("caller", "finally forty five minutes on hold i just need my balance", ()),
            ("agent", "Thanks Sam, you're verified. Your checking balance is 312 dollars and 40 cents.", ("verify_identity", "get_balance")),
            ("caller", "and it took an hour to hear that", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "angry",
        [
            ("caller", "why did you charge me a thirty five dollar overdraft fee on a two dollar coffee", ()),
            ("agent", "Let me look at that. You're verified. I see the fee on the 3rd.", ("verify_identity", "get_recent_transactions")),
            ("caller", "that is robbery plain and simple you should be ashamed", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "distressed",
        [
            ("caller", "i'm in lisbon and my wallet was just stolen i have no cards no cash and my flight is tomorrow", ()),
            ("agent", "I'm sorry, that sounds really stressful. I've locked your card now. Let me connect you to our fraud team who can help with emergency cash.", ("lock_card", "handoff_fraud")),
            ("caller", "please hurry i'm sitting outside a police station alone", ()),
        ],
        {"identity_verified": "missing", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "calm",
        [
            ("caller", "there's a charge from a store called brightmart that i don't recognise", ()),
            ("agent", "You're verified. I've opened a dispute for the 64 dollar Brightmart charge, your case number is D 4 4 1 9. You'll hear from us within ten business days.", ("verify_identity", "dispute_charge")),
            ("agent", "Is there anything else I can help with?", ()),
            ("caller", "nope that covers it", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "done"},
    ),
    (
        "banking", "confused",
        [
            ("caller", "my app says pending and available what's the difference", ()),
            ("agent", "Good question. Once I confirm who you are I can walk you through it. What's your name?", ()),
            ("caller", "jamie lee", ()),
            ("agent", "Thanks Jamie, I've confirmed your identity. Your available balance is what you can spend now; pending items haven't settled.", ("verify_identity", "get_balance")),
            ("caller", "so which number do i actually have i still don't get it", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "frustrated",
        [
            ("caller", "my card keeps getting declined at the gas station", ()),
            ("agent", "I'm sorry. Could you tell me your full name?", ()),
            ("caller", "jordan rivera", ()),
            ("agent", "And your full name please?", ()),
            ("caller", "i just told you that jordan rivera are you even listening", ()),
        ],
        {"identity_verified": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "banking", "angry",
        [
            ("caller", "you froze my card again while i was paying for groceries in front of everyone", ()),
            ("agent", "I'm sorry about that. You're verified. The hold was a fraud alert; I've cleared it and the card works now.", ("verify_identity", "list_flagged_transactions")),
            ("caller", "i don't care about your alerts i was humiliated and i'm moving my money elsewhere", ()),
            ("agent", "I understand. Is there anything else I can do today?", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "done"},
    ),
    (
        "banking", "calm",
        [
            ("agent", "Thank you for calling Contoso Bank. I can help with balances, cards and transfers. How can I help?", ()),
            ("caller", "hi good afternoon", ()),
        ],
        {"identity_verified": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    # --- insurance: policy_confirmed, reason_captured, next_steps_stated, resolution_confirmed -----------
    (
        "insurance", "distressed",
        [
            ("agent", "Contoso Insurance, how can I help?", ()),
            ("caller", "i just crashed my car on the highway there's glass everywhere and my daughter's crying in the back", ()),
            ("agent", "Are you both safe and out of traffic? If anyone is hurt, call 911 first.", ()),
            ("caller", "i think so i don't know my hands won't stop shaking", ()),
        ],
        {"policy_confirmed": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "calm",
        [
            ("caller", "hi i need to report a fender bender from saturday", ()),
            ("agent", "I can help with that. What's your policy number?", ()),
            ("caller", "it's p c one one two three four five", ()),
            ("agent", "Thanks, I found your policy for the 2019 Civic.", ("lookup_policy",)),
            ("agent", "Your claim is filed. Your claim number is 7 0 0 1 0 4 2 and an adjuster will contact you within two business days.", ("file_claim",)),
            ("caller", "great thank you so much", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "confused",
        [
            ("caller", "does my plan pay for the windshield or is that the comprehensive thing", ()),
            ("agent", "Let me check. I have your policy here.", ("lookup_policy",)),
            ("agent", "Glass is covered under comprehensive with a 100 dollar deductible.", ("get_coverage",)),
            ("caller", "sorry so do i pay the hundred or do you what does deductible mean here", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "frustrated",
        [
            ("caller", "i'm calling for the fourth time about my claim from june", ()),
            ("agent", "I'm sorry for the wait. I found your policy and your claim is still under review.", ("lookup_policy", "get_claim_status")),
            ("caller", "under review that's what they said in july and august", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "angry",
        [
            ("caller", "you denied my water damage claim after i paid premiums for twelve years", ()),
            ("agent", "I'm sorry. I see your policy and the claim was declined because the leak was gradual.", ("lookup_policy", "get_claim_status")),
            ("caller", "that's a load of crap and you know it i'll see you in court", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "calm",
        [
            ("caller", "what's my deductible for collision", ()),
            ("agent", "Your policy is confirmed. Your collision deductible is 500 dollars.", ("lookup_policy", "get_deductible")),
            ("agent", "Is there anything else you'd like to know?", ()),
            ("caller", "no that's it have a good day", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "done"},
    ),
    (
        "insurance", "distressed",
        [
            ("caller", "my house is on fire right now what do i do", ()),
            ("agent", "Please get out and call 911 now. I'm connecting you to a person who can help.", ("transfer_to_human",)),
        ],
        {"policy_confirmed": "not_applicable", "reason_captured": "not_applicable", "next_steps_stated": "not_applicable", "resolution_confirmed": "not_applicable"},
    ),
    (
        "insurance", "confused",
        [
            ("agent", "What's your policy number?", ()),
            ("caller", "is that the long number on the card or the one on the letter there's two", ()),
        ],
        {"policy_confirmed": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "frustrated",
        [
            ("caller", "i filed a claim for a stolen bike last month and nobody has called", ()),
            ("agent", "I found your policy and the claim. It's been assigned; someone from our claims team will reach out by Friday.", ("lookup_policy", "get_claim_status")),
            ("caller", "that's what i was told last time too", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "angry",
        [
            ("caller", "i want to cancel everything you people are crooks", ()),
            ("agent", "I'm sorry to hear that. Can I have your policy number?", ()),
            ("caller", "no put a human on the phone right now", ()),
            ("agent", "Connecting you with a member of our team.", ("transfer_to_human",)),
        ],
        {"policy_confirmed": "not_applicable", "reason_captured": "not_applicable", "next_steps_stated": "not_applicable", "resolution_confirmed": "not_applicable"},
    ),
    (
        "insurance", "calm",
        [
            ("caller", "someone broke into my car last night and took my laptop", ()),
            ("agent", "I'm sorry that happened. I've pulled up your policy ending 4 4 1.", ("lookup_policy",)),
            ("agent", "I've filed that for you; the reference is 7 0 0 1 0 5 5. The next step is a call from an adjuster tomorrow.", ("file_claim",)),
            ("agent", "Anything else I can help with today?", ()),
            ("caller", "no thanks you've been really helpful", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "done"},
    ),
    (
        "insurance", "distressed",
        [
            ("caller", "water is coming through the ceiling and i can't find where to shut it off please", ()),
            ("agent", "First, if you can, turn off the main water valve, usually near the meter. Are you safe?", ()),
            ("caller", "i'm trying i'm trying it's everywhere the baby's room is soaked", ()),
        ],
        {"policy_confirmed": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "confused",
        [
            ("caller", "i got a letter saying i need to submit a proof of loss what is that", ()),
            ("agent", "I've found your policy. A proof of loss is a signed statement of what was damaged and its value.", ("lookup_policy",)),
            ("caller", "okay but where do i get the form and who do i send it to i have no idea", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "angry",
        [
            ("caller", "my premium went up two hundred dollars and i haven't had a single claim", ()),
            ("agent", "I understand. I've found your policy; the increase is from a regional rate change.", ("lookup_policy",)),
            ("caller", "regional rate change my foot this is highway robbery", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    (
        "insurance", "frustrated",
        [
            ("caller", "the adjuster never showed up for the appointment yesterday", ()),
            ("agent", "I'm sorry about that. Can I get your policy number to look into it?", ()),
            ("caller", "it's in your system already i've given it three times today", ()),
        ],
        {"policy_confirmed": "missing", "reason_captured": "missing", "next_steps_stated": "missing", "resolution_confirmed": "missing"},
    ),
    # --- triage: disclaimer_given, reason_captured, read_back_confirmed, intake_recorded, next_steps_stated -
    (
        "triage", "calm",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "i've had an earache since the weekend", ()),
            ("agent", "When did it start?", ()),
            ("caller", "saturday morning", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "distressed",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "my husband's face is drooping on one side and he's not making sense", ()),
            ("agent", "That can be serious. If you feel worse at any point, hang up and call 911. I'm connecting you with a nurse right now. Please stay on the line.", ("transfer_to_nurse",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "not_applicable", "read_back_confirmed": "not_applicable", "intake_recorded": "not_applicable", "next_steps_stated": "done"},
    ),
    (
        "triage", "confused",
        [
            ("agent", "I'm a virtual assistant and can't give medical advice. What's the main reason for your call?", ()),
            ("caller", "my doctor said to call about my test results but i don't know if this is the right line", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "missing", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "frustrated",
        [
            ("caller", "i've called twice already this morning and nobody called me back", ()),
            ("agent", "I'm sorry about that. What's the main reason for your call today?", ()),
            ("caller", "the same as the last two times my back is killing me and i want a callback", ()),
        ],
        {"disclaimer_given": "missing", "reason_captured": "missing", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "calm",
        [
            ("agent", "Just so you know, I'm not a nurse and this isn't medical advice. What's going on today?", ()),
            ("caller", "i have a rash on my arm", ()),
            ("agent", "Sorry to hear that. When did you first notice it?", ()),
            ("caller", "two days ago", ()),
            ("agent", "Here's what I have: a rash on your arm since Tuesday, for two days, a three out of ten, no other symptoms, no medications, and no allergies. Did I get that right?", ()),
            ("caller", "yes that's right", ()),
            ("agent", "Thank you. I've saved your answers and a nurse will give you a call back within two hours.", ("submit_triage_intake",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "done", "intake_recorded": "done", "next_steps_stated": "done"},
    ),
    (
        "triage", "angry",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "i don't want a robot i want to talk to an actual nurse this is ridiculous", ()),
            ("agent", "I'm connecting you with a nurse right now. Please stay on the line.", ("transfer_to_nurse",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "not_applicable", "read_back_confirmed": "not_applicable", "intake_recorded": "not_applicable", "next_steps_stated": "done"},
    ),
    (
        "triage", "distressed",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "my little boy has a fever of a hundred and four and he won't wake up properly please", ()),
            ("agent", "When did it start?", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "calm",
        [
            ("agent", "Let me read that back to make sure I have it right. Main concern: sore throat. Started: Monday. Duration: 3 days. Severity: 4 out of 10. Other symptoms: none. Medications: none. Allergies: penicillin. Is that right?", ()),
            ("caller", "yes that's all correct", ()),
            ("agent", "Thank you. I've recorded your answers, and a nurse will call you back shortly. I can't give medical advice, so if anything gets worse, call 911. Is there anything else?", ("submit_triage_intake",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "done", "intake_recorded": "done", "next_steps_stated": "done"},
    ),
    (
        "triage", "confused",
        [
            ("agent", "What's the main reason for your call today?", ()),
            ("caller", "my knee is swollen", ()),
            ("agent", "When did it start?", ()),
            ("caller", "last week sometime", ()),
            ("agent", "On a scale from zero to ten, where ten is the worst, how bad is it?", ()),
            ("caller", "i don't really know how to rate it compared to what it's more of an ache than a pain", ()),
        ],
        {"disclaimer_given": "missing", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "frustrated",
        [
            ("agent", "When did it start?", ()),
            ("caller", "i told you it started tuesday", ()),
            ("agent", "Sorry, I didn't catch that. When did it start?", ()),
            ("caller", "tuesday tuesday how many ways can i say it", ()),
        ],
        {"disclaimer_given": "missing", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "distressed",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "there's this crushing feeling in my chest and my left arm is numb i'm scared", ()),
            ("agent", "This could be serious. Please hang up and call 911 if it gets worse. I'm transferring you to a nurse now.", ("transfer_to_nurse",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "not_applicable", "read_back_confirmed": "not_applicable", "intake_recorded": "not_applicable", "next_steps_stated": "done"},
    ),
    (
        "triage", "calm",
        [
            ("agent", "I can't give medical advice, but I can take down your symptoms for a nurse. What's the reason for your call?", ()),
            ("caller", "a cough that won't go away", ()),
            ("agent", "How long have you had it?", ()),
            ("caller", "about three weeks now", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "frustrated",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "my throat hurts", ()),
            ("agent", "When did it start?", ()),
            ("caller", "who cares when it started just tell me if it's strep i'm not paying for another visit", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
    (
        "triage", "calm",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "could i just speak with a nurse please it's about my prescription", ()),
            ("agent", "Of course, I'm connecting you with a nurse now.", ("transfer_to_nurse",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "not_applicable", "read_back_confirmed": "not_applicable", "intake_recorded": "not_applicable", "next_steps_stated": "done"},
    ),
    (
        "triage", "distressed",
        [
            ("agent", "Thank you for calling the Contoso Clinic nurse line. I'm a virtual assistant, not a nurse, and I can't give medical advice. If this is an emergency, hang up and call 911. What's the main reason for your call today?", ()),
            ("caller", "i fell in the bathroom and i can't get up off the floor and nobody is home", ()),
            ("agent", "I'm sorry. Are you hurt? If you're in danger, call 911. I'm getting a nurse on the line for you right now.", ("transfer_to_nurse",)),
        ],
        {"disclaimer_given": "done", "reason_captured": "not_applicable", "read_back_confirmed": "not_applicable", "intake_recorded": "not_applicable", "next_steps_stated": "done"},
    ),
    (
        "triage", "angry",
        [
            ("caller", "i waited three hours in your clinic yesterday and got sent home with nothing and now i'm worse you people are a joke", ()),
            ("agent", "I'm sorry you had that experience. I'm not able to give medical advice, but I can get your symptoms to a nurse. What's bothering you most today?", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "missing", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "missing"},
    ),
]  # fmt: skip
