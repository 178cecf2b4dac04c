"""A local OpenID Connect provider for the tests: discovery document, published keys (JWKS),
an authorization endpoint that approves its one test user at once, and a token endpoint that
checks the code, the redirect URI, the client and the PKCE verifier and issues an RS256 ID
token signed with a key generated when the provider starts.

``TestProvider.tamper`` changes what it answers for one sign-in, so the tests can check that
each forgery is refused: claims overridden in the ID token (``iss``, ``aud``, ``nonce``,
``exp``, ``acr``, ...), ``state`` changed on the way back, or the token signed with a key it
never published. It runs under uvicorn on 127.0.0.1 on a free port, in a thread.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

IAL2 = "http://idmanagement.gov/ns/assurance/ial/2"
IAL1 = "http://idmanagement.gov/ns/assurance/ial/1"
CLIENT_ID = "urn:gov:gsa:openidconnect.profiles:sp:sso:govshare:test"
CLIENT_SECRET = "test-client-secret-" + "x" * 20  # a test's own secret
USER = {"sub": "c0ffee00-test-user", "given_name": "Tess", "family_name": "Testperson",
        "email": "tess@example.org", "email_verified": True}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestProvider:
    __test__ = False

    def __init__(self) -> None:
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.tamper: dict[str, Any] = {}
        self.acr = IAL2
        self.requests: list[dict[str, str]] = []  # the authorization requests it got
        # private_key_jwt: the site's registered public key (None: not registered)
        self.client_public_key: Any = None
        self.assertions_seen: set[str] = set()  # jti of every client assertion accepted
        self.logouts: list[dict[str, str]] = []
        self.offers_logout = True
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
            Route("/logout", self.logout),
        ])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------- endpoints

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": [IAL1, IAL2],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "private_key_jwt", "none"],
            **({"end_session_endpoint": self.issuer + "/logout"} if self.offers_logout
               else {}),
        })

    async def logout(self, request: Request) -> Response:
        """RP-initiated logout: sign the user out, send the browser back with its state."""
        q = dict(request.query_params)
        self.logouts.append(q)
        if q.get("client_id") != CLIENT_ID or not q.get("post_logout_redirect_uri"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        return RedirectResponse(q["post_logout_redirect_uri"] + "?"
                                + urlencode({"state": q.get("state", "")}), status_code=302)

    def _client_authenticated(self, request: Request, form: Any) -> bool:
        """Basic with the secret, a private_key_jwt assertion signed with the registered key
        (for this token endpoint, unexpired, never replayed), or a public client's id."""
        if form.get("client_assertion_type") is not None or self.client_public_key is not None:
            if form.get("client_assertion_type") != \
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return False
            try:
                token = jwt.decode(str(form.get("client_assertion", "")),
                                   self.client_public_key, algorithms=["RS256", "ES256"])
            except Exception:  # any bad assertion is an unknown client
                return False
            c = token.claims
            now = time.time()
            if c.get("iss") != CLIENT_ID or c.get("sub") != CLIENT_ID \
                    or c.get("aud") != self.issuer + "/token" or not c.get("jti") \
                    or c["jti"] in self.assertions_seen or not now < c.get("exp", 0) <= now + 600:
                return False
            self.assertions_seen.add(c["jti"])
            return True
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        return auth == expected or form.get("client_id") == CLIENT_ID

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        """Approve the test user at once and send the browser back with a code."""
        q = dict(request.query_params)
        self.requests.append(q)
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" \
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"nonce": q.get("nonce"), "challenge": q["code_challenge"],
                            "redirect_uri": q["redirect_uri"]}
        state = self.tamper.get("state", q.get("state", ""))
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode({"code": code,
                                                                    "state": state}),
                                status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if not self._client_authenticated(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier") or "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant is None or grant["challenge"] != challenge \
                or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], "acr": self.acr, **USER}
        claims.update({k: v for k, v in self.tamper.items() if k not in ("state", "key")})
        key = self.other_key if self.tamper.get("key") == "other" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                             "expires_in": 300, "id_token": id_token})

    # -------------------------------------------------------------------- running

    def start(self) -> TestProvider:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test identity provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
