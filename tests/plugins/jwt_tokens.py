"""HS256 tokens for the Go jwt_auth sample (plugins_under_test/go/jwt_auth)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

JWT_AUTH = Path(__file__).resolve().parents[2] / "fixtures" / "go" / "jwt_auth.wasm"
SECRET = "s3cret"
CONFIG = json.dumps({"secret": SECRET})
PAST = "2023-11-14T00:00:00Z"  # the clock check hosts started at before issue 27


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fresh_token(sub: str = "alice", lifetime_s: int = 3600) -> str:
    """Signed now: valid from a minute ago until ``lifetime_s`` from now."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"sub": sub, "nbf": now - 60, "exp": now + lifetime_s}).encode())
    signature = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"
