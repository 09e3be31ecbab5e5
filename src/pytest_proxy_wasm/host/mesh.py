"""What an Istio profile changes in the emulator (istio/profiles.py): properties and request headers.

The connection manager settings are applied to the request headers as Envoy 1.40's connection manager
applies them before the filters see the request (checked by tests/mesh/test_profiles.py on Envoy).
Without a profile nothing here runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..istio.profiles import MeshProfile

Pairs = list[tuple[bytes, bytes]]


def profile_of(options: Any) -> MeshProfile | None:
    name = getattr(options, "profile", "")
    if not name:
        return None
    from ..istio.profiles import profile_named

    return profile_named(name)


def profile_properties(options: Any) -> Mapping[tuple[str, ...], Any]:
    """The profile's properties (``xds.*``), under the test's own ``HostOptions.properties``."""
    profile = profile_of(options)
    if profile is None:
        return {}
    props = profile.properties()
    if getattr(options, "platform", "envoy") == "higress":
        # Higress's Envoy still answers the top-level names wasm-go's _rules_ matching reads.
        props[("route_name",)] = profile.route_name
        props[("cluster_name",)] = profile.cluster_name
    return props


def normalize_path(path: bytes, merge_slashes: bool) -> bytes:
    """RFC 3986 dot-segment removal as Envoy's ``normalize_path`` does it (``/a/../b/./c`` is
    ``/b/c``; ``%2F`` and repeated slashes kept), then ``merge_slashes``; the query is untouched."""
    raw, sep, query = path.partition(b"?")
    if not raw.startswith(b"/"):
        return path
    trailing = raw.endswith((b"/", b"/.", b"/.."))
    segments: list[bytes] = []
    for segment in raw.split(b"/")[1:]:
        if segment == b"..":
            if len(segments) > 0:
                segments.pop()
        elif segment != b".":
            segments.append(segment)
    out = b"/" + b"/".join(segments)
    if trailing and not out.endswith(b"/"):
        out += b"/"
    if merge_slashes:
        while b"//" in out:
            out = out.replace(b"//", b"/")
    return out + sep + query


def mutate_request_headers(options: Any, pairs: Pairs) -> Pairs:
    """The request headers after the connection manager's XFCC handling and the profile's path settings.
    Its address settings (a gateway's use_remote_address) act through HostOptions.client_address_settings
    and client_address.py, as for any other connection manager."""
    profile = profile_of(options)
    if profile is None:  # Envoy's default forward_client_cert_details SANITIZE: no mTLS, so removed
        if any(name == b"x-forwarded-client-cert" for name, _ in pairs):
            return [(k, v) for k, v in pairs if k != b"x-forwarded-client-cert"]
        return pairs
    out: Pairs = []
    for name, value in pairs:
        if name == b"x-forwarded-client-cert":
            continue  # no mTLS here: APPEND_FORWARD, SANITIZE and SANITIZE_SET all remove it
        normalized = name == b":path" and profile.normalize_path
        out.append((name, normalize_path(value, profile.merge_slashes) if normalized else value))
    return out
