"""Generate ``docs/hostcalls.md`` from the hostcall table: ``python -m pytest_proxy_wasm.host.coverage``."""

from __future__ import annotations

import sys
from pathlib import Path

from .abi.enums import AbiVersion
from .abi.signatures import CALLBACKS, HOSTCALLS
from .hostcalls import IMPLEMENTATIONS

_PACKAGE = Path(__file__).resolve().parent
_VERSIONS = list(AbiVersion)


def driven_callbacks() -> set[str]:
    """Callbacks the host calls: their names appear as string literals outside the table itself."""
    text = "".join(
        p.read_text() for p in _PACKAGE.rglob("*.py") if p.name not in ("signatures.py", "coverage.py")
    )
    return {c.name for c in CALLBACKS if f'"{c.name}"' in text}


def _versions(versions: frozenset[AbiVersion]) -> str:
    return " ".join("✓" if v in versions else "-" for v in _VERSIONS)


def render() -> str:
    lines = [
        "# Hostcalls and callbacks",
        "",
        "Generated from `src/pytest_proxy_wasm/host/abi/signatures.py` by "
        "`python -m pytest_proxy_wasm.host.coverage > docs/hostcalls.md`; a test fails when it is stale.",
        f"Columns {', '.join(v.value for v in _VERSIONS)}: whether the ABI version links the import "
        "or calls the export. WASI functions are linked under both `wasi_snapshot_preview1` "
        "and `wasi_unstable`.",
        "",
        "## Imports (host functions)",
        "",
        "| name | area | params → results | "
        + " | ".join(v.value for v in _VERSIONS)
        + " | implemented | note |",
        "|---|---|---|" + "---|" * len(_VERSIONS) + "---|---|",
    ]
    for h in HOSTCALLS:
        signature = f"({', '.join(h.params)}) → ({', '.join(h.results)})"
        done = "yes" if h.name in IMPLEMENTATIONS else "**no** (UNIMPLEMENTED)"
        cells = " | ".join(_versions(h.versions).split())
        lines.append(f"| `{h.name}` | {h.area} | {signature} | {cells} | {done} | {h.note} |")
    driven = driven_callbacks()
    lines += [
        "",
        "## Exports (callbacks the host calls)",
        "",
        "| name | area | params → results | " + " | ".join(v.value for v in _VERSIONS) + " | called | note |",
        "|---|---|---|" + "---|" * len(_VERSIONS) + "---|---|",
    ]
    for c in CALLBACKS:
        signature = f"({', '.join(c.params)}) → ({', '.join(c.results)})"
        called = "yes" if c.name in driven else "**no**"
        cells = " | ".join(_versions(c.versions).split())
        lines.append(f"| `{c.name}` | {c.area} | {signature} | {cells} | {called} | {c.note} |")
    implemented = sum(1 for h in HOSTCALLS if h.name in IMPLEMENTATIONS)
    names = {c.name for c in CALLBACKS}
    lines += [
        "",
        f"{implemented} of {len(HOSTCALLS)} imports implemented; "
        f"{len(names & driven)} of {len(names)} callbacks called.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
