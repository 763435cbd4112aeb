"""The service's settings as deployment files see them: env var names and which ones are secrets.

Read from the source of apps/backend/settings.py and the setting groups `Settings` inherits
(apps/backend/settings_sections.py), not imported, so the infra venv, which has no app dependencies,
checks the same list as the app venv; test_settings_fields cross-checks it against the real model there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SETTINGS_PY = Path(__file__).resolve().parents[2] / "apps/backend/settings.py"
SECTIONS_PY = SETTINGS_PY.with_name("settings_sections.py")


@dataclass(frozen=True)
class SettingField:
    name: str
    secret: bool

    @property
    def env(self) -> str:
        return self.name.upper()


def settings_fields() -> dict[str, SettingField]:
    """Env var name -> field, for every annotated field of class Settings and the groups it inherits."""
    tree = ast.parse(SETTINGS_PY.read_text())
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings"]
    groups = {
        node.name: node for node in ast.parse(SECTIONS_PY.read_text()).body if isinstance(node, ast.ClassDef)
    }
    # Groups may inherit groups (SettingsSections gathers them all): follow the bases until none are left.
    sections: list[ast.ClassDef] = []
    pending = [base.id for base in cls.bases if isinstance(base, ast.Name)]
    while pending:
        group = groups.get(pending.pop())
        if group is None or group in sections:
            continue
        sections.append(group)
        pending.extend(base.id for base in group.bases if isinstance(base, ast.Name))
    fields: dict[str, SettingField] = {}
    for owner in (cls, *sections):
        for node in owner.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                if name == "model_config":
                    continue
                field = SettingField(name, "SecretStr" in ast.unparse(node.annotation))
                fields[field.env] = field
    return fields
