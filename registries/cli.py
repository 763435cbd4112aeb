"""`switchboard agents validate [DIR]`: load the shipped registry plus DIR and print every problem.

Exit status 0 when the registry loads, 1 when it has problems (one `file:line: field: message` per line),
so it can gate a CI job or a deployment.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from registries.loader import RegistryError, load_registry


def validate_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="switchboard agents validate",
        description="Validate agent, scenario and tool definitions: the shipped registry plus DIR.",
    )
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="extra registry directory with agents/, scenarios/ and/or tools/ (like AGENTS_DIR)",
    )
    parser.add_argument(
        "--tools", type=Path, action="append", default=[], help="extra directory of *.py tools"
    )
    parser.add_argument(
        "--only", action="store_true", help="validate DIR alone, without the shipped registry"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    extra = [args.directory] if args.directory else None
    try:
        registry = load_registry(extra, tool_dirs=args.tools, shipped=not args.only)
    except RegistryError as error:
        if args.json:
            print(json.dumps({"ok": False, "problems": error.to_json()}, indent=2))
        else:
            for issue in error.issues:
                print(issue)
            count = len(error.issues)
            print(f"{count} problem{'s' if count != 1 else ''}")
        return 1
    if args.json:
        print(json.dumps({"ok": True, **registry.summary()}, indent=2))
    else:
        print(
            f"ok: {len(registry.agents)} agents, {len(registry.scenarios)} scenarios, "
            f"{len(registry.tools)} tools, version {registry.version}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(validate_main())
