"""What to do next, appended to fetch and push errors: each names the option or form that fixes it."""

from __future__ import annotations

import hashlib
from pathlib import Path

SECRET_FORM = (
    "kind: Secret, type: kubernetes.io/dockerconfigjson, metadata: {name, namespace}, "
    "data: {.dockerconfigjson: <base64 of {'auths': {REGISTRY: {'auth': <base64 of USER:PASSWORD>}}}>} "
    "(or stringData with the JSON as text)"
)


def oci_checksum(expected: str, digest: str, module: bytes) -> str:
    """A wrong oci:// ``sha256``: it is the image's manifest digest, not the module's hash."""
    what = (
        "the sha256 of the .wasm file itself"
        if hashlib.sha256(module).hexdigest() == expected
        else "not this image's manifest digest"
    )
    return (
        f"; for oci:// URLs sha256 is the image's manifest digest (the sha256:... line `pytest-proxy-wasm "
        f"push` printed, without the 'sha256:' prefix), and {expected} is {what}; the image at this "
        f'reference has manifest digest {digest}: sha256: "{digest}"'
    )


def numeric_sha256(value: object) -> str:
    """``sha256:`` written without quotes and read by YAML as a number."""
    return (
        f"must be a string, got {type(value).__name__} {value!r}: YAML reads an unquoted sha256 made of "
        'digits (or digits and one "e") as a number; quote it: sha256: "<64 hex digits>"'
    )


def push_credentials(registry: str, anonymous: bool) -> str:
    """``push`` refused for want of (right) credentials."""
    if anonymous:
        return (
            f"; {registry} wants credentials: pass --username USER --password-stdin (the password on "
            "stdin) to `pytest-proxy-wasm push` (in Python: oci.push(..., credentials=(USER, PASSWORD)))"
        )
    return (
        f"; {registry} refused these credentials: check --username and the password given on stdin "
        "with --password-stdin"
    )


def missing_secret(namespace: str, name: str) -> str:
    """``imagePullSecret`` names a Secret nobody supplied."""
    return (
        f"; imagePullSecret {name!r} (namespace {namespace!r}) is not known here: pass "
        f"--secret {namespace}/{name}=FILE (a .dockerconfigjson file) to `run`, or put the Secret in the "
        f"YAML ({SECRET_FORM}); in Python Fetcher(secrets={{'{namespace}/{name}': BYTES}})"
    )


def anonymous_pull(namespace: str) -> str:
    """A pull refused without credentials: the WasmPlugin needs an ``imagePullSecret``."""
    return (
        f"; the registry wants credentials: set spec.imagePullSecret and supply that Secret with "
        f"--secret {namespace}/NAME=FILE or in the YAML ({SECRET_FORM})"
    )


def unknown_host(host: str) -> str:
    """A registry or download host this machine cannot reach (often a cluster-only name)."""
    return (
        f"; {host} is not reachable from here (a name only the cluster resolves?): point it at a "
        f"stand-in with --map-host {host}=127.0.0.1:PORT (or http://127.0.0.1:PORT); in Python "
        f"Fetcher(hosts={{'{host}': '127.0.0.1:PORT'}})"
    )


def missing_file(path: Path) -> str:
    """A ``file://`` path that exists on the proxy's machine, not here."""
    return (
        f"; the path is read on the proxy's machine: map it to a module here with "
        f"--map-file {path}=LOCAL.wasm (in Python: load_wasmplugins(..., files={{'{path}': 'LOCAL.wasm'}}))"
    )
