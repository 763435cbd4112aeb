"""Every setting is documented: in the README's configuration table and in .env.example."""

from pathlib import Path

import pytest

from apps.backend.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
VARIABLES = sorted(name.upper() for name in Settings.model_fields)


@pytest.mark.parametrize("variable", VARIABLES)
def test_setting_is_in_the_readme_table(variable: str) -> None:
    assert f"| `{variable}` |" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("variable", VARIABLES)
def test_setting_is_in_env_example(variable: str) -> None:
    assert f"# {variable}=" in (ROOT / ".env.example").read_text()
