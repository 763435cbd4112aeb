"""The phrases a caller is likely to say in a scenario: what the recognisers are biased towards.

Azure Speech takes them as a phrase list; the embedded recogniser builds its language model from them.
"""

from __future__ import annotations

from registries.snapshot import RegistrySnapshot
from registries.templates import render_greeting, render_return_greeting
from voice.stt.data_phrases import data_phrases


def scenario_phrases(snapshot: RegistrySnapshot, scenario_name: str) -> list[str]:
    """Tool examples and descriptions, handoff conditions and examples, greetings of every agent in the
    scenario, and the names and places of the data its tools serve (`data_phrases`), deduplicated in first-seen order (stable, so the embedded model's cache key is too).

    Greetings are the agent's words, not the caller's, but callers echo them ("yes, I'd like to report a
    claim") and they carry the scenario's vocabulary. Raises KeyError for an unknown scenario.
    """
    scenario = snapshot.scenarios[scenario_name]
    phrases: list[str] = []
    tools = []
    for name in scenario.agents:
        agent = snapshot.agents[name]
        phrases.append(render_greeting(agent, {}, scenario))
        phrases.append(render_return_greeting(agent, {}, scenario) or "")
        if agent.handoff is not None:
            phrases.extend(agent.handoff.examples)
        for tool in snapshot.tools_for(name, scenario_name):
            phrases.extend(tool.examples)
            phrases.append(tool.description)
            tools.append(tool)
    phrases.extend(edge.condition for edge in scenario.handoffs)
    phrases.extend(data_phrases(tools))  # names, places and merchants of the data the tools serve
    return list(dict.fromkeys(p.strip() for p in phrases if p.strip()))
