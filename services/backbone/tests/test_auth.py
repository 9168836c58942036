"""Production authentication: signed tokens only, checked against the issuer's keys.

A token signed with another key, an expired one, one for another audience or issuer, one with no
unit or an unknown one, an algorithm-confusion token and a demo token all get 401 under the
production settings; a good token (public key configured, or keys from a JWKS endpoint) gets in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backbone.db import migrate
from backbone.runtime import context
from intake.bootstrap import MIGRATIONS, SERVICE
from intake.config import Settings

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ISSUER, AUDIENCE = "https://idp.example.test/realms/group", "xinfang-platform"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER_KEY = _key(), _key()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def token(key=KEY, alg="RS256", headers=None, **over) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-123", "iat": now, "exp": now + 300,
              "xf_unit": "S1-XFB", "xf_role": "registrar", **over}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def hs256_with_public_key() -> str:
    """The algorithm-confusion attack (PyJWT itself refuses to make one, so it is made by hand)."""
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 60,
                             "xf_unit": "HQ", "xf_role": "admin"}).encode())
    signature = hmac.new(PUBLIC_PEM.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def settings(database_url, schema, **over) -> Settings:
    return Settings(service="intake", database_url=database_url, db_schema=schema, kafka_bootstrap="127.0.0.1:1",
                    seed_dir=SEED, seal_key=base64.b64encode(os.urandom(32)).decode(), jwt_issuer=ISSUER,
                    jwt_audience=AUDIENCE, **over)


@pytest.fixture(scope="module")
def schema(database_url):
    name = f"auth_{uuid.uuid4().hex[:8]}"
    migrate(database_url, name, MIGRATIONS)
    return name


def client(s: Settings) -> TestClient:
    return TestClient(SERVICE.app(context(s)))


def status(c: TestClient, bearer: str) -> int:
    return c.get("/petitions", headers={"Authorization": f"Bearer {bearer}"}).status_code


def test_production_settings_refuse_everything_but_a_good_token(database_url, schema):
    with client(settings(database_url, schema, jwt_public_key=PUBLIC_PEM)) as c:
        assert status(c, token()) == 200
        refused = {
            "signed with another key": token(key=OTHER_KEY),
            "expired": token(exp=int(time.time()) - 120, iat=int(time.time()) - 600),
            "for another audience": token(aud="another-app"),
            "from another issuer": token(iss="https://evil.example"),
            "without an expiry": token(exp=None),
            "without a unit": token(xf_unit=None),
            "for a unit not in the organisation": token(xf_unit="NOWHERE"),
            "with an unknown role": token(xf_role="superuser"),
            "HS256 keyed with the public key": hs256_with_public_key(),
            "unsigned": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60,
                                    "xf_unit": "HQ", "xf_role": "admin"}, None, algorithm="none"),
            "a demo token": "demo-hq-analyst",
            "garbage": "a.b.c",
        }
        for why, bad in refused.items():
            r = c.get("/petitions", headers={"Authorization": f"Bearer {bad}"})
            assert r.status_code == 401, why
            assert r.headers["WWW-Authenticate"] == "Bearer" and "Traceback" not in r.text


def test_keys_can_come_from_the_issuers_jwks_endpoint(database_url, schema):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/jwks.json"
        with client(settings(database_url, schema, jwt_jwks_url=url)) as c:
            assert status(c, token(headers={"kid": "k1"})) == 200
            assert status(c, token(key=OTHER_KEY, headers={"kid": "k1"})) == 401
    finally:
        server.shutdown()


def test_demo_tokens_work_only_when_embedded_mode_asks_for_them(database_url, schema):
    with client(settings(database_url, schema, jwt_public_key=PUBLIC_PEM, auth_mode="demo",
                         demo_tokens_path=SEED / "demo-tokens.yaml")) as c:
        assert status(c, "demo-s1-registrar") == 200
        assert status(c, token()) == 200  # signed tokens keep working beside them
    with pytest.raises(ValidationError, match="XF_JWT"):
        Settings(service="intake", database_url=database_url, kafka_bootstrap="x", seed_dir=SEED,
                 seal_key=base64.b64encode(os.urandom(32)).decode())  # production, but no key source
    with pytest.raises(ValidationError, match="XF_DEMO_TOKENS_PATH"):
        settings(database_url, schema, jwt_public_key=PUBLIC_PEM, auth_mode="demo")
