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


def test_deployment_checks_read_the_same_settings_as_the_app() -> None:
    """The infra venv reads the settings from source (it has no app dependencies); it must see every field."""
    from pydantic import SecretStr

    from tests.infra.settings_fields import settings_fields

    fields = settings_fields()
    assert sorted(fields) == VARIABLES
    secrets = sorted(
        name.upper() for name, info in Settings.model_fields.items() if SecretStr in _types(info.annotation)
    )
    assert sorted(env for env, field in fields.items() if field.secret) == secrets


def _types(annotation: object) -> set[object]:
    """The annotation and every type inside it (SecretStr | None -> {Optional, SecretStr, None})."""
    from typing import get_args

    found = {annotation}
    for inner in get_args(annotation):
        found |= _types(inner)
    return found
