"""Expectations files: per module (by file name or sha256), the cases known to fail, with a reason.

```yaml
modules:
  tcp.wasm:                       # a file name, a glob, or the module's sha256
    http_robustness.*: "network filter: the Rust SDK aborts on HTTP callbacks"
```

Each listed case becomes a strict xfail: it must fail, and an unexpected pass fails the check.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ExpectationsError(ValueError):
    """The expectations file is malformed."""


@dataclass(frozen=True)
class Expectations:
    entries: tuple[tuple[str, str, str], ...] = ()  # (module pattern, case pattern, reason)
    source: str = ""

    def reason(self, module_name: str, sha256: str, case_id: str) -> str | None:
        for module_pattern, case_pattern, reason in self.entries:
            module_ok = module_pattern == sha256 or fnmatch.fnmatchcase(module_name, module_pattern)
            if module_ok and fnmatch.fnmatchcase(case_id, case_pattern):
                return reason
        return None


def parse(data: Any, source: str = "") -> Expectations:
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise ExpectationsError(f"{source}: expected a mapping with a 'modules' mapping")
    entries: list[tuple[str, str, str]] = []
    for module, cases in data["modules"].items():
        if not isinstance(cases, dict):
            raise ExpectationsError(f"{source}: modules.{module} must map case ids to reasons")
        for case_id, reason in cases.items():
            if not isinstance(reason, str) or not reason.strip():
                raise ExpectationsError(f"{source}: modules.{module}.{case_id} needs a reason")
            entries.append((str(module), str(case_id), reason.strip()))
    return Expectations(tuple(entries), source)


def load(path: Path) -> Expectations:
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    return parse(data, str(path))


def merge(items: list[Expectations]) -> Expectations:
    return Expectations(tuple(e for x in items for e in x.entries), ", ".join(x.source for x in items))
