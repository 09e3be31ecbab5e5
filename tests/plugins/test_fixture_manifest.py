"""Every fixture matches its manifest entry, and every entry has its source."""

from __future__ import annotations

import hashlib

import pytest

from .conftest import FIXTURES, manifest_entries

ROOT = FIXTURES.parent
ENTRIES = manifest_entries()


def test_manifest_lists_at_least_twenty_modules_from_four_languages() -> None:
    assert len(ENTRIES) >= 20
    assert {"rust", "go", "assemblyscript", "c"} <= {e["language"] for e in ENTRIES}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_fixture_matches_manifest(entry: dict[str, str]) -> None:
    data = (FIXTURES / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert (ROOT / entry["source"]).exists(), f"source {entry['source']} missing"


def test_every_wasm_file_is_in_a_manifest() -> None:
    listed = {e["file"] for e in ENTRIES}
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.wasm")}
    assert on_disk <= listed, f"not in any manifest: {sorted(on_disk - listed)}"
