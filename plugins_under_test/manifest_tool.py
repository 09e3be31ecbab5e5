"""Record a built module in its group's manifest: ``fixtures/<group>/manifest.json``.

Usage (from the repository root)::

    python plugins_under_test/manifest_tool.py add --group rust --name rust-basic-auth \
        --file fixtures/rust/basic_auth.wasm --language rust --sdk proxy-wasm --sdk-version 0.2.4 \
        --toolchain "rustc 1.85 (Debian rustc-web)" --source plugins_under_test/rust/basic_auth \
        --kind sample --description "Basic auth from pluginConfig"

The sha256 and the ABI marker are read from the file itself; an entry with the same name is replaced.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1", "proxy_abi_version_0_2_100")


def abi_marker(data: bytes) -> str | None:
    try:
        module = wasmtime.Module(wasmtime.Engine(), data)
    except Exception:  # noqa: BLE001 - hostile fixtures may not be valid wasm
        return None
    for export in module.exports:
        if export.name in MARKERS:
            return export.name.removeprefix("proxy_abi_version_").replace("_", ".")
    return None


def add(args: argparse.Namespace) -> None:
    wasm = (ROOT / args.file).resolve()
    data = wasm.read_bytes()
    manifest_path = ROOT / "fixtures" / args.group / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"modules": []}
    entry = {
        "name": args.name,
        "file": str(wasm.relative_to(ROOT / "fixtures")),
        "language": args.language,
        "sdk": args.sdk,
        "sdk_version": args.sdk_version,
        "toolchain": args.toolchain,
        "abi": abi_marker(data),
        "source": args.source,
        "sha256": hashlib.sha256(data).hexdigest(),
        "kind": args.kind,
        "description": args.description,
    }
    modules = [m for m in manifest["modules"] if m["name"] != args.name]
    modules.append(entry)
    manifest["modules"] = sorted(modules, key=lambda m: m["name"])
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{args.name}: {entry['sha256']} abi={entry['abi']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("add")
    for flag in ("group", "name", "file", "language", "sdk", "sdk-version", "toolchain", "source"):
        p.add_argument(f"--{flag}", required=True)
    p.add_argument("--kind", choices=("sample", "hostile"), default="sample")
    p.add_argument("--description", required=True)
    args = parser.parse_args()
    add(args)


if __name__ == "__main__":
    main()
