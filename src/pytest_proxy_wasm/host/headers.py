"""Header maps with Envoy's semantics: lower-cased keys, pseudo-headers first, duplicates kept in order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Pairs = list[tuple[bytes, bytes]]
# What a test may pass as headers on every backend: str (sent as Latin-1) or bytes (sent as is).
HeaderInput = Iterable[tuple[str | bytes, str | bytes]] | Mapping[str, str | bytes] | None


class HeaderMap:
    """An ordered multimap of byte strings, as Envoy's ``HeaderMapImpl`` keeps it."""

    __slots__ = ("entries",)

    def __init__(self, pairs: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self.entries: Pairs = _pseudo_first([(k.lower(), v) for k, v in pairs])

    @classmethod
    def of_lowered(cls, entries: Pairs) -> HeaderMap:
        """A map of pairs whose names are lower case already (``wire_pairs``); the list is kept."""
        headers = cls.__new__(cls)
        headers.entries = _pseudo_first(entries)
        return headers

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"HeaderMap({self.entries!r})"

    def pairs(self) -> Pairs:
        return list(self.entries)

    def get(self, key: bytes) -> bytes | None:
        """The first value of ``key`` (what ``proxy_get_header_map_value`` returns)."""
        key = key.lower()
        for k, v in self.entries:
            if k == key:
                return v
        return None

    def get_all(self, key: bytes) -> list[bytes]:
        key = key.lower()
        return [v for k, v in self.entries if k == key]

    def add(self, key: bytes, value: bytes) -> None:
        key = key.lower()
        if key.startswith(b":"):
            # Envoy keeps pseudo-headers ahead of regular ones.
            index = 0
            while index < len(self.entries) and self.entries[index][0].startswith(b":"):
                index += 1
            self.entries.insert(index, (key, value))
        else:
            self.entries.append((key, value))

    def remove(self, key: bytes) -> None:
        key = key.lower()
        for k, _ in self.entries:
            if k == key:
                self.entries = [(k, v) for k, v in self.entries if k != key]
                return

    def replace(self, key: bytes, value: bytes) -> None:
        """Envoy ``setCopy``: every entry of ``key`` goes, one new entry is added."""
        self.remove(key)
        self.add(key, value)

    def replace_inline(self, key: bytes, value: bytes) -> None:
        """Envoy's inline-header ``set`` (``setReferenceKey``): the first entry of ``key`` keeps its
        place with the new value, later ones go; a missing header is appended."""
        for index, (name, _) in enumerate(self.entries):
            if name == key:
                self.entries[index] = (key, value)
                self.entries[index + 1 :] = [e for e in self.entries[index + 1 :] if e[0] != key]
                return
        self.entries.append((key, value))

    def set_pairs(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        self.entries = HeaderMap(pairs).entries

    def byte_size(self) -> int:
        """Envoy ``HeaderMap::byteSize``: the sum of key and value lengths."""
        return sum(len(k) + len(v) for k, v in self.entries)

    def as_text(self) -> list[tuple[str, str]]:
        # "latin1": the spelling CPython's codec lookup takes without normalizing (this runs per pair).
        return [(k.decode("latin1"), v.decode("latin1")) for k, v in self.entries]


def _pseudo_first(entries: Pairs) -> Pairs:
    """Pseudo-headers first, each group in order; one pass finds whether one follows a regular header."""
    regular = False
    for key, _ in entries:
        if key[:1] == b":":
            if regular:
                return [e for e in entries if e[0][:1] == b":"] + [e for e in entries if e[0][:1] != b":"]
        else:
            regular = True
    return entries


def _items(headers: Iterable[tuple[str | bytes, str | bytes]] | Mapping[str, str | bytes]) -> list[Any]:
    if type(headers) is list:  # the usual case, without an ABC isinstance test
        return headers
    return list(headers.items() if isinstance(headers, Mapping) else headers)


def wire_pairs(headers: HeaderInput) -> Pairs:
    """``to_pairs`` as an HTTP/1.1 codec passes them on: names in lower case, values without the
    optional whitespace around them."""
    if headers is None:
        return []
    items = _items(headers)
    try:  # the usual case, all text: one pass
        return [(k.encode("latin1").lower(), v.encode("latin1").strip(b" \t")) for k, v in items]
    except (AttributeError, UnicodeEncodeError):
        return [(k.lower(), v.strip(b" \t")) for k, v in to_pairs(items)]


def to_pairs(headers: HeaderInput) -> Pairs:
    """Accept str or bytes pairs (or a dict) from a test; encode text as Latin-1 like an HTTP codec,
    send bytes as they are."""
    if headers is None:
        return []
    items = _items(headers)
    try:  # the usual case, all text: one pass
        return [(k.encode("latin1"), v.encode("latin1")) for k, v in items]
    except (AttributeError, UnicodeEncodeError):
        return [(_octets(key, key), _octets(key, value)) for key, value in items]


def _octets(key: str | bytes, text: str | bytes) -> bytes:
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text)
    if not isinstance(text, str):  # bytes(5) would be five NUL bytes: never what a test meant
        raise TypeError(
            f"header {key!r}: {text!r} is {type(text).__name__}; a header name or value is str (sent as "
            f"Latin-1) or bytes (sent as is), e.g. {str(text)!r}"
        )
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"header {key!r}: {text!r} is not Latin-1 text, which is all an HTTP/1.1 header carries; "
            f"pass bytes to send exact octets (e.g. {text.encode()!r} for its UTF-8)"
        ) from None


def as_latin1(headers: HeaderInput) -> list[tuple[str, str]]:
    """``to_pairs`` as text whose Latin-1 encoding is the exact bytes (for the Envoy backend's wire)."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in to_pairs(headers)]
