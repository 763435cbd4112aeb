"""The Agents page: the registry as served (with each scenario's handoff graph), Refresh with its diff and
replica acknowledgements, and a broken agent YAML shown as file:line while the previous version stays live."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from apps.acs_simulator.server import AcsSimulator
from tests.e2e.browser.conftest import screenshot_path
from tests.e2e.browser.console_pages import open_console, sign_in
from tests.support import running_backend

HELPDESK = (
    "name: front_desk\ndescription: Answers the helpdesk line.\ngreeting: Acme helpdesk, how can I help?\n"
    "prompt: You answer the Acme helpdesk. Keep answers short.\ntools: [transfer_to_human, end_call]\n"
)
SCENARIO = (
    "name: helpdesk\ndescription: Acme helpdesk.\nstart_agent: front_desk\nagents: [front_desk]\n"
    'phone_numbers: ["+18005550177"]\n'
)
TYPO_ON_LINE_3 = "name: front_desk\ndescription: x\ngreting: Hello\nprompt: p\n"


async def test_refresh_shows_the_diff_then_a_broken_file_with_its_line_and_keeps_the_old_version(
    chromium: Browser, simulator: AcsSimulator, tmp_path: Path
) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "scenarios").mkdir()
    async with running_backend(simulator, agents_dir=tmp_path) as backend:
        page, traffic = await open_console(chromium, backend, "#/agents")
        await sign_in(page)
        shipped = backend.runtime.registry.current.version
        await expect(page.locator("#registry-version")).to_have_text(shipped)
        # The banking scenario's handoff graph: one node per agent, one arrow per handoff.
        banking = backend.runtime.registry.current.scenarios["banking"]
        graph = page.locator('svg[aria-label="Handoff graph of banking"]')
        await expect(graph.locator("circle")).to_have_count(len(banking.agents))
        await expect(graph.locator("line.edge")).to_have_count(len(banking.handoffs))
        await page.screenshot(path=screenshot_path("console-agents"))
        await page.locator("#agent-concierge summary").click()
        await expect(page.locator("#agent-concierge pre.prompt")).to_contain_text("Contoso")
        # A tool opens on its JSON schema, as the registry serves it.
        tool = page.locator("details.tool", has=page.locator("summary code", has_text="get_balance"))
        await tool.locator("summary").click()
        await expect(tool.locator("pre")).to_contain_text('"type": "object"')
        await expect(tool.locator("pre")).to_contain_text('"properties"')
        await tool.screenshot(path=screenshot_path("console-agents-tool-schema"))

        (tmp_path / "agents" / "front_desk.yaml").write_text(HELPDESK)
        (tmp_path / "scenarios" / "helpdesk.yaml").write_text(SCENARIO)
        await page.get_by_role("button", name="Refresh from disk").click()
        # A refresh builds the new version's recognition and embedding models before it swaps: slow on a
        # loaded machine (seen over 5 s with two test workers on two cores).
        await expect(page.locator("#refresh-diff")).to_contain_text("agent front_desk added", timeout=60_000)
        await expect(page.locator("#refresh-diff")).to_contain_text("scenario helpdesk added")
        replica = backend.runtime.registry_sync.replica_id
        good = backend.runtime.registry.current.version
        assert good != shipped
        await expect(page.locator("#refresh-replicas")).to_contain_text(f"{replica} acknowledged {good}")
        await expect(page.locator("#registry-version")).to_have_text(good)
        await expect(page.locator('svg[aria-label="Handoff graph of helpdesk"] circle')).to_have_count(1)
        await page.screenshot(path=screenshot_path("console-agents-refreshed"), full_page=True)

        (tmp_path / "agents" / "front_desk.yaml").write_text(TYPO_ON_LINE_3)
        await page.get_by_role("button", name="Refresh from disk").click()
        errors = page.locator("#refresh-errors li")
        await expect(page.locator("#refresh-result")).to_contain_text("the previous version stays live")
        await expect(errors.filter(has_text="agents/front_desk.yaml:3")).to_contain_text("greting")
        await expect(page.locator("#registry-version")).to_have_text(good)
        assert backend.runtime.registry.current.version == good
        await page.screenshot(path=screenshot_path("console-agents-invalid-yaml"), full_page=False)
        assert [r for r in traffic.requests if r.startswith("pageerror:")] == []
