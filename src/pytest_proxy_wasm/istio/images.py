"""The three Wasm image formats istio-agent accepts, built for ``push`` (deterministic: same module,
same digest). Spec: solo-io/wasm ``spec.md`` (OCI artifact) and ``spec-compat.md`` (docker/OCI compat)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from typing import Any, Literal

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"
WASM_CONFIG = "application/vnd.module.wasm.config.v1+json"
WASM_RUNTIME_CONFIG = "application/vnd.module.wasm.runtime-config.v1+json"
Format = Literal["artifact", "oci", "docker"]
FORMATS: tuple[Format, ...] = ("artifact", "oci", "docker")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar_gz(files: dict[str, bytes]) -> tuple[bytes, bytes]:
    """(gzipped, plain) deterministic tar of ``files``."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    raw = plain.getvalue()
    return gzip.compress(raw, mtime=0), raw


def build_image(wasm: bytes, fmt: Format = "artifact") -> tuple[bytes, str, dict[str, bytes]]:
    """(manifest bytes, manifest media type, blobs by digest) for one of the three formats."""

    def desc(media: str, data: bytes) -> dict[str, Any]:
        return {"mediaType": media, "digest": digest_of(data), "size": len(data)}

    blobs: dict[str, bytes] = {}
    if fmt == "artifact":
        config = b"{}"
        runtime = json.dumps(
            {"type": "envoy_proxy", "abiVersions": ["v0-097b7f2e4cc1fb490cc1943d0d633655ab"]}
        )
        layers = [(WASM_RUNTIME_CONFIG, runtime.encode()), (WASM_LAYER, wasm)]
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(WASM_CONFIG, config),
            "layers": [desc(m, d) for m, d in layers],
        }
        media = OCI_MANIFEST
    else:
        layer, plain = _tar_gz({"plugin.wasm": wasm})
        image_config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [digest_of(plain)]},
            },
            sort_keys=True,
        ).encode()
        config = image_config
        docker = fmt == "docker"
        layers = [(DOCKER_LAYER if docker else OCI_LAYER, layer)]
        media = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media,
            "config": desc(DOCKER_CONFIG if docker else OCI_CONFIG, config),
            "layers": [desc(m, d) for m, d in layers],
        }
        if not docker:
            manifest["annotations"] = {"module.wasm.image/variant": "compat"}
    blobs[digest_of(config)] = config
    for _, data in layers:
        blobs[digest_of(data)] = data
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode(), media, blobs
