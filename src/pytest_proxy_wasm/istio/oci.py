"""A small OCI distribution client (no docker): pull Wasm images the way istio-agent reads them, push
the three formats it accepts (shared/reference/istio-envoy.md 1.3; solo-io/wasm spec and spec-compat)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .hints import push_credentials
from .images import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    FORMATS,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    WASM_CONFIG,
    WASM_LAYER,
    WASM_RUNTIME_CONFIG,
    Format,
    build_image,
)
from .images import (
    digest_of as _digest,
)
from .model import FetchError

ACCEPT = ", ".join((DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX, DOCKER_LIST))
MAX_SIZE = 256 * 1024 * 1024
__all__ = [
    "ACCEPT",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "FORMATS",
    "MAX_SIZE",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "WASM_CONFIG",
    "WASM_LAYER",
    "WASM_RUNTIME_CONFIG",
    "Format",
    "Pulled",
    "Reference",
    "Registry",
    "build_image",
    "credentials_for",
    "dockerconfigjson",
    "extract_wasm",
    "parse_reference",
    "pull",
    "push",
]


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def ref(self) -> str:
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        return (
            f"{self.registry}/{self.repository}"
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )


def parse_reference(url: str) -> Reference:
    """``oci://host[:port]/repo[:tag][@sha256:hex]`` (``oci://`` optional). Untagged means ``latest``
    for the pull, but is *not* treated as ``:latest`` by the pull policy."""
    rest = url.split("://", 1)[1] if "://" in url else url
    rest, _, digest = rest.partition("@")
    if digest and not re.fullmatch(r"sha256:[a-f0-9]{64}", digest):
        raise FetchError(f"invalid digest {digest!r} in {url}", "manifest_failure")
    registry, slash, path = rest.partition("/")
    if not slash or not path:
        raise FetchError(f"{url}: expected oci://REGISTRY/REPOSITORY[:TAG][@sha256:...]", "manifest_failure")
    repo, _, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    return Reference(registry, repo, tag, digest)


def credentials_for(dockerconfigjson: bytes, registry: str) -> tuple[str, str] | None:
    """(username, password) for ``registry`` from a ``.dockerconfigjson`` (``auth`` or the two fields)."""
    try:
        auths = json.loads(dockerconfigjson or b"{}").get("auths", {})
    except (ValueError, AttributeError):
        raise FetchError("image pull secret is not valid dockerconfigjson", "manifest_failure") from None
    for key, entry in auths.items():
        host = re.sub(r"^https?://", "", key).split("/", 1)[0]
        if host != registry or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return user, password
        if entry.get("username") is not None:
            return str(entry["username"]), str(entry.get("password", ""))
    return None


def dockerconfigjson(registry: str, username: str, password: str) -> bytes:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps(
        {"auths": {registry: {"username": username, "password": password, "auth": auth}}}
    ).encode()


class Registry:
    """One registry over the distribution API: HTTPS first, plain HTTP when the registry answers that way
    (as istio-agent retries without TLS); Basic auth and the bearer-token flow on a 401."""

    def __init__(
        self,
        registry: str,
        credentials: tuple[str, str] | None = None,
        *,
        insecure: bool = False,
        timeout: float = 15.0,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self.client = httpx.Client(verify=not insecure, timeout=timeout, follow_redirects=True)
        self.scheme = "https"
        self._auth: str | None = None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self._auth:
            headers["Authorization"] = self._auth
        return self.client.request(method, url, headers=headers, **kwargs)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.scheme}://{self.registry}{path}"

    def _refused(self, method: str, path: str, status: int) -> FetchError:
        who = f"as {self.credentials[0]!r}" if self.credentials else "anonymously"
        return FetchError(
            f"registry {self.registry} refused {method} {path} {who}: HTTP {status}", "manifest_failure"
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self._url(path)
        try:
            response = self._send(method, url, **kwargs)
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            if self.scheme == "http" or path.startswith("http"):
                raise FetchError(f"registry {self.registry} unreachable: {exc}") from None
            self.scheme = "http"  # "fetching image with plain text from ..."
            return self.request(method, path, **kwargs)
        if response.status_code == 401 and self._authenticate(response):
            response = self._send(method, url, **kwargs)
        if response.status_code in (401, 403):
            raise self._refused(method, path, response.status_code)
        return response

    @contextlib.contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """``request`` for a body read piece by piece (a size cap holds): the same re-authentication
        on a 401 (a token scoped to another repository, or expired since the manifest) and refusal."""
        headers = dict(kwargs.pop("headers", {}))
        for attempt in range(2):
            sent = {**headers, **({"Authorization": self._auth} if self._auth else {})}
            with self.client.stream(method, self._url(path), headers=sent, **kwargs) as response:
                if response.status_code == 401 and attempt == 0:
                    response.read()
                    if self._authenticate(response):
                        continue
                if response.status_code in (401, 403):
                    raise self._refused(method, path, response.status_code)
                yield response
                return

    def _authenticate(self, response: httpx.Response) -> bool:
        challenge = response.headers.get("www-authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        if self.credentials is None and scheme.lower() == "basic":
            return False
        if scheme.lower() == "basic" and self.credentials:
            token = base64.b64encode(":".join(self.credentials).encode()).decode()
            self._auth = f"Basic {token}"
            return True
        if scheme.lower() != "bearer":
            return False
        params = dict(re.findall(r'(\w+)="([^"]*)"', params_text))
        realm = params.pop("realm", "")
        if not realm:
            return False
        auth = httpx.BasicAuth(*self.credentials) if self.credentials else None
        answer = self.client.get(realm, params=params, auth=auth)
        if answer.status_code != 200:
            return False
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            return False
        self._auth = f"Bearer {token}"
        return True

    # -- pulling ------------------------------------------------------------------------------------

    def manifest(self, repo: str, ref: str) -> tuple[dict[str, Any], str, bytes]:
        response = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        if response.status_code == 404:
            raise FetchError(f"{self.registry}/{repo}:{ref}: manifest unknown (HTTP 404)", "manifest_failure")
        if response.status_code != 200:
            raise FetchError(f"{self.registry}/{repo}:{ref}: HTTP {response.status_code}", "manifest_failure")
        data = response.content
        try:
            manifest = json.loads(data)
        except ValueError:
            raise FetchError(
                f"{self.registry}/{repo}:{ref}: manifest is not JSON", "manifest_failure"
            ) from None
        media = manifest.get("mediaType") or response.headers.get("content-type", "").split(";")[0]
        if media in (OCI_INDEX, DOCKER_LIST):
            entries = manifest.get("manifests") or []
            if not entries:
                raise FetchError(f"{self.registry}/{repo}:{ref}: empty image index", "manifest_failure")
            pick = next(
                (m for m in entries if (m.get("platform") or {}).get("architecture") == "amd64"), entries[0]
            )
            return self.manifest(repo, pick["digest"])
        return manifest, media, data

    def blob(self, repo: str, digest: str, max_size: int = MAX_SIZE) -> bytes:
        with self.stream("GET", f"/v2/{repo}/blobs/{digest}") as response:
            if response.status_code != 200:
                raise FetchError(f"blob {digest}: HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_size:
                    raise FetchError(f"blob {digest} is larger than the {max_size}-byte limit")
        if _digest(bytes(data)) != digest:
            raise FetchError(f"blob {digest}: content does not match its digest")
        return bytes(data)

    # -- pushing ------------------------------------------------------------------------------------

    def put_blob(self, repo: str, data: bytes) -> str:
        digest = _digest(data)
        if self.request("HEAD", f"/v2/{repo}/blobs/{digest}").status_code == 200:
            return digest
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        if start.status_code != 202:
            raise FetchError(f"cannot start an upload to {self.registry}/{repo}: HTTP {start.status_code}")
        location = start.headers["location"]
        if not location.startswith("http"):
            location = f"{self.scheme}://{self.registry}{location}"
        sep = "&" if "?" in location else "?"
        done = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if done.status_code != 201:
            raise FetchError(f"upload of {digest} to {self.registry}/{repo} failed: HTTP {done.status_code}")
        return digest

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        response = self.request(
            "PUT", f"/v2/{repo}/manifests/{ref}", content=data, headers={"Content-Type": media_type}
        )
        if response.status_code != 201:
            raise FetchError(
                f"manifest push to {self.registry}/{repo}:{ref} failed: HTTP {response.status_code}"
            )
        return _digest(data)


def _plugin_wasm(layer: bytes, where: str, max_size: int) -> bytes:
    try:
        raw = gzip.GzipFile(fileobj=io.BytesIO(layer)).read(max_size + 1)
        if len(raw) > max_size:
            raise FetchError(f"{where}: uncompressed layer exceeds {max_size} bytes")
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.rsplit("/", 1)[-1] == "plugin.wasm":
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        return extracted.read()
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise FetchError(f"{where}: layer is not a tar.gz: {exc}", "manifest_failure") from None
    raise FetchError(f"{where}: no plugin.wasm in the last layer", "manifest_failure")


def extract_wasm(
    reg: Registry, repo: str, manifest: dict[str, Any], media: str, max_size: int
) -> tuple[bytes, str]:
    """(module bytes, format) from a manifest, trying docker compat, OCI compat, then OCI artifact."""
    layers = manifest.get("layers") or []
    where = f"{reg.registry}/{repo}"
    if not layers:
        raise FetchError(f"{where}: image has no layers", "manifest_failure")
    last = layers[-1].get("mediaType")
    if media == DOCKER_MANIFEST:
        if last != DOCKER_LAYER:
            raise FetchError(f"{where}: the last layer is {last}, not {DOCKER_LAYER}", "manifest_failure")
        return _plugin_wasm(reg.blob(repo, layers[-1]["digest"], max_size), where, max_size), "docker"
    if last == OCI_LAYER:
        return _plugin_wasm(reg.blob(repo, layers[-1]["digest"], max_size), where, max_size), "oci"
    wasm_layers = [layer for layer in layers if layer.get("mediaType") == WASM_LAYER]
    if len(layers) == 2 and wasm_layers:
        return reg.blob(repo, wasm_layers[0]["digest"], max_size), "artifact"
    kinds = ", ".join(str(layer.get("mediaType")) for layer in layers)
    raise FetchError(
        f"{where}: not a Wasm image (layers: {kinds}); expected a docker/OCI compat image with plugin.wasm "
        f"or an OCI artifact with 2 layers, one {WASM_LAYER}",
        "manifest_failure",
    )


@dataclass(frozen=True)
class Pulled:
    module: bytes
    digest: str  # the image manifest digest: what WasmPlugin.sha256 is compared with for oci://
    format: str
    plain_http: bool = False  # the registry answered over plain HTTP after TLS failed


def pull(
    url: str,
    credentials: tuple[str, str] | None = None,
    *,
    insecure: bool = False,
    max_size: int = MAX_SIZE,
    timeout: float = 15.0,
) -> Pulled:
    ref = parse_reference(url)
    with Registry(ref.registry, credentials, insecure=insecure, timeout=timeout) as reg:
        try:
            manifest, media, raw = reg.manifest(ref.repository, ref.ref)
            module, fmt = extract_wasm(reg, ref.repository, manifest, media, max_size)
        except httpx.HTTPError as exc:
            raise FetchError(f"{ref}: {exc}") from None
        plain = reg.scheme == "http"
    return Pulled(module, _digest(raw), fmt, plain)


def push(
    wasm: bytes,
    url: str,
    fmt: Format = "artifact",
    credentials: tuple[str, str] | None = None,
    *,
    insecure: bool = False,
) -> str:
    """Push ``wasm`` as an image istio-agent accepts; return the manifest digest (``sha256:...``)."""
    ref = parse_reference(url)
    manifest, media, blobs = build_image(wasm, fmt)
    with Registry(ref.registry, credentials, insecure=insecure) as reg:
        try:
            for data in blobs.values():
                reg.put_blob(ref.repository, data)
            return reg.put_manifest(ref.repository, ref.tag or "latest", manifest, media)
        except httpx.HTTPError as exc:
            raise FetchError(f"push to {ref}: {exc}") from None
        except FetchError as exc:
            if "refused" not in str(exc) or "HTTP 401" not in str(exc):
                raise
            hint = push_credentials(ref.registry, anonymous=credentials is None)
            raise FetchError(str(exc) + hint, exc.result) from None
