"""The module cache shared by processes: no lost index entry, no half-written index (issue 26)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pytest_proxy_wasm.istio import Fetcher


def test_concurrent_stores_keep_every_index_entry(tmp_path: Path) -> None:
    fetchers = [Fetcher(cache_dir=tmp_path) for _ in range(8)]  # as separate processes would share it
    barrier = threading.Barrier(len(fetchers))

    def store(i: int) -> None:
        barrier.wait()
        for j in range(20):
            fetchers[i]._store(f"http://h/{i}-{j}.wasm", f"{i}", b"\0asm" + bytes([i, j]), "1")

    threads = [threading.Thread(target=store, args=(i,)) for i in range(len(fetchers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    index = json.loads((tmp_path / "index.json").read_text())
    assert len(index) == 8 * 20
    assert not list(tmp_path.glob("*.tmp"))  # every temporary file was renamed into place
    assert all((tmp_path / entry["file"]).read_bytes()[:4] == b"\0asm" for entry in index.values())
