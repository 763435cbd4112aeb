"""Which agent a call starts with, and in which recognition language."""

from __future__ import annotations

from apps.backend.storage.call_store import CallRecord
from registries.agentstore.schema import AgentSpec
from registries.snapshot import RegistrySnapshot


def start_agent(snapshot: RegistrySnapshot, record: CallRecord) -> AgentSpec:
    """The agent a call starts with: the one the record names (a browser session's choice), else the
    scenario's; a session's language, when it asked for one, goes first in that agent's recognition."""
    if record.agent is None or record.agent not in snapshot.agents:
        agent = snapshot.start_agent(record.scenario)
    else:
        agent = snapshot.agents[record.agent]
    languages = agent.speech.languages
    if record.language is None or record.language not in languages or languages[0] == record.language:
        return agent
    ordered = (record.language, *(lang for lang in languages if lang != record.language))
    return agent.model_copy(update={"speech": agent.speech.model_copy(update={"languages": ordered})})
