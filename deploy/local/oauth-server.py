#!/usr/bin/env python3
"""oauth-server.py - a small OAuth 2.0 authorization server for the loopback test stack.

Loopback only, memory only, for tests and the demo; never for real accounts.
Dovecot's oauth2 passdb validates bearer tokens against its introspection
endpoint, so IMAP XOAUTH2/OAUTHBEARER and Postfix submission (Dovecot SASL)
accept exactly the tokens this server issued and has not revoked.

Endpoints (the RFC each follows):
  POST   /register              dynamic client registration (RFC 7591). Body JSON:
                                {"email": "mailbox@example.test",      the mailbox the tokens grant
                                 "access_token_lifetime": 3600,        seconds (tests use a few)
                                 "redirect_uris": [...], "client_name": ...}
                                -> client_id, client_secret, registration_access_token
  DELETE /register/CLIENT_ID    client deletion (RFC 7592, Bearer registration_access_token):
                                the client and every token it holds stop working at once
  GET    /authorize             authorization code grant (RFC 6749 4.1, PKCE RFC 7636 S256):
                                approves at once (there is no user to ask) and redirects to
                                redirect_uri?code=..&state=..
  POST   /token                 grant_type client_credentials | authorization_code |
                                refresh_token (refresh tokens rotate: the old one is spent);
                                client auth by HTTP Basic or client_id/client_secret in the body;
                                errors as RFC 6749 5.2 JSON (invalid_client, invalid_grant, ...)
  POST   /device_authorization  device authorization grant (RFC 8628 3.1-3.2): device_code,
                                user_code, verification_uri(_complete), expires_in, interval;
                                /token then takes grant_type
                                urn:ietf:params:oauth:grant-type:device_code (3.4-3.5:
                                authorization_pending, slow_down, access_denied, expired_token)
  POST   /device/approve        test aid, the user's side of RFC 8628 3.3: form user_code=..
                                [&deny=1] approves (or denies) the code as a signed-in user would
  POST   /introspect            token introspection (RFC 7662): {"active", "email", "client_id",
                                "exp", "scope"}; what Dovecot asks
  POST   /revoke                token revocation (RFC 7009)
  POST   /expire/CLIENT_ID      test aid: the client's access tokens stop working now
  GET    /stats/CLIENT_ID       test aid: how many token requests (and refusals) and
                                introspections a client has caused (a busy loop shows here)
  GET    /health                "ok"

OpenID Connect provider (Core 1.0, Discovery 1.0) on the same endpoints, for the web view's
sign-in tests and the demo:
  GET    /.well-known/openid-configuration   discovery document (issuer http://127.0.0.1:PORT)
  GET    /jwks                  the RS256 signing key (JWK Set; one key, made at start)
  GET    /authorize             with scope containing "openid": the provider's login page (a
                                person types an address; no password, loopback test provider)
                                instead of approving at once; without "openid" as before
  POST   /authorize/login       the login page's form: -> redirect_uri?code=..&state=..; test aid
                                tamper=aud|nonce|expired|issuer|signature|unverified makes the
                                ID token of that code wrong in that one way
  POST   /token                 authorization_code for an "openid" code also returns id_token
                                (RS256 JWT: iss, sub, aud, exp, iat, nonce, email, email_verified)

State is per client, so parallel tests that each register their own client do not
disturb each other.
"""
import argparse
import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
CLIENTS = {}  # client_id -> dict(secret, email, lifetime, reg_token, redirect_uris)
ACCESS = {}  # token -> dict(client_id, email, exp, scope)
REFRESH = {}  # token -> dict(client_id, email, scope)
CODES = {}  # code -> dict(client_id, email, redirect_uri, challenge, scope, exp)
STATS = {}  # client_id -> dict(token_requests, token_errors, introspections)
MAX_BODY = 64 * 1024


def stat(cid, key):
    s = STATS.setdefault(cid, {"token_requests": 0, "token_errors": 0, "introspections": 0})
    s[key] += 1



# ====================================================================== device flow
# RFC 8628 device authorization grant (the `breachwatch login --device` tests).
# Kept in its own block: the handler only dispatches here (DEVICE_PATHS in do_POST,
# DEVICE_GRANT in token()). State is per device code, under LOCK like the rest.
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_PATHS = ("/device_authorization", "/device/approve")
DEVICES = {}  # device_code -> dict(client_id, user_code, scope, exp, interval, state, last_poll)
DEVICE_LIFETIME = 600
DEVICE_INTERVAL = 1  # seconds between polls the client is asked to keep (tests: short)


class DeviceFlow:
    def device_post(self, path, form):
        if path == "/device_authorization":
            cid = self.client_auth(form)
            if cid is None:
                stat(self.claimed(form)[0] or "?", "token_errors")
                return self.error(401, "invalid_client", "client authentication failed")
            device_code = "dc-" + secrets.token_urlsafe(24)
            # RFC 8628 6.1: short, unambiguous, case-insensitive characters
            alphabet = "BCDFGHJKLMNPQRSTVWXZ"
            raw = "".join(secrets.choice(alphabet) for _ in range(8))
            user_code = raw[:4] + "-" + raw[4:]
            DEVICES[device_code] = {"client_id": cid, "user_code": user_code, "scope": form.get("scope"),
                                    "exp": time.time() + DEVICE_LIFETIME, "interval": DEVICE_INTERVAL,
                                    "state": "pending", "last_poll": 0.0}
            base = "http://%s:%d" % self.server.server_address[:2]
            return self.reply(200, {"device_code": device_code, "user_code": user_code,
                                    "verification_uri": base + "/device",
                                    "verification_uri_complete": base + "/device?user_code=" + user_code,
                                    "expires_in": DEVICE_LIFETIME, "interval": DEVICE_INTERVAL})
        # /device/approve: what the user does at verification_uri after signing in
        code = (form.get("user_code") or "").strip().upper()
        for d in DEVICES.values():
            if d["user_code"] == code and d["state"] == "pending" and d["exp"] > time.time():
                d["state"] = "denied" if form.get("deny") else "approved"
                return self.reply(200, {"state": d["state"]})
        return self.error(400, "invalid_request", "no pending device authorization with this user_code")

    def device_token(self, cid, form):
        d = DEVICES.get(form.get("device_code", ""))
        if d is None or d["client_id"] != cid:
            stat(cid, "token_errors")
            return self.error(400, "invalid_grant", "device_code unknown or for another client")
        now = time.time()
        if d["exp"] <= now:
            return self.error(400, "expired_token", "the device code expired")
        if d["state"] == "denied":
            return self.error(400, "access_denied", "the user denied the request")
        if d["state"] == "pending":
            # RFC 8628 3.5: polling faster than the interval earns slow_down (+5 s)
            too_fast = now - d["last_poll"] < d["interval"] * 0.8
            d["last_poll"] = now
            if too_fast:
                d["interval"] += 5
                return self.error(400, "slow_down", "polling too fast")
            return self.error(400, "authorization_pending", "the user has not approved yet")
        del DEVICES[form["device_code"]]  # a device code yields tokens once
        return self.reply(200, self.issue(cid, d["scope"], refresh=True))
# ================================================================== end device flow

# ====================================================================== OpenID Connect
# The provider side of OpenID Connect for the web view's sign-in (Core 1.0 3.1, the
# authorization code flow; Discovery 1.0). RS256 with the `cryptography` package when
# python3 has it, else pure-Python RSA (keys made at start, memory only). Kept in its own
# block like the device flow: the handler dispatches here.
import html as _html

OIDC_PATHS = ("/.well-known/openid-configuration", "/jwks")
TAMPER = ("aud", "nonce", "expired", "issuer", "signature", "unverified")


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _int_bytes(i):
    return i.to_bytes((i.bit_length() + 7) // 8, "big")


def _is_probable_prime(n, rounds=40):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits):
    while True:
        c = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if _is_probable_prime(c):
            return c


class RsaKey:
    """An RSA signing key: (n, e, d) whatever made it; RS256 = PKCS#1 v1.5 over SHA-256."""
    DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

    def __init__(self, bits=2048):
        self.kid = "k-" + secrets.token_hex(6)
        try:
            from cryptography.hazmat.primitives.asymmetric import rsa
            k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            nums = k.private_numbers()
            self.n, self.e, self.d = nums.public_numbers.n, nums.public_numbers.e, nums.d
        except ImportError:
            e = 65537
            while True:
                p, q = _prime(bits // 2), _prime(bits // 2)
                phi = (p - 1) * (q - 1)
                if p != q and phi % e != 0:
                    break
            self.n, self.e, self.d = p * q, e, pow(e, -1, phi)

    def sign(self, msg):
        k = (self.n.bit_length() + 7) // 8
        t = self.DIGEST_INFO + hashlib.sha256(msg).digest()
        em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(k, "big")

    def jwk(self):
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": _b64url(_int_bytes(self.n)), "e": _b64url(_int_bytes(self.e))}


SIGNING_KEY = None  # made at start by make_keys()
OTHER_KEY = None    # signs the tamper=signature tokens: same kid, not in the JWKS
KEYS_READY = threading.Event()


def make_keys():
    global SIGNING_KEY, OTHER_KEY
    SIGNING_KEY, OTHER_KEY = RsaKey(), RsaKey()
    KEYS_READY.set()


def jwt_rs256(claims, key, kid):
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     _b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + _b64url(key.sign(signing_input.encode()))


LOGIN_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Testleverantör – logga in</title>
<style>body{font-family:system-ui,sans-serif;margin:3em auto;max-width:28em;color:#1b1b1b}
form{display:flex;flex-direction:column;gap:.8em}label{display:flex;flex-direction:column;gap:.3em}input,button{font-size:1em;padding:.4em}
.note{color:#555;font-size:.9em}</style></head><body>
<h1>Testleverantör för OpenID Connect</h1>
<p class="note">Loopback-leverantör för test och demo: ingen riktig inloggning.</p>
<form method="post" action="/authorize/login">
%s
<label>E-postadress <input type="email" name="email" id="oidc-email" required autocomplete="off"></label>
<button type="submit" id="oidc-signin">Logga in</button>
</form></body></html>"""


class OpenIdProvider:
    def issuer(self):
        return "http://%s:%d" % self.server.server_address[:2]

    def oidc_get(self, path):
        KEYS_READY.wait(120)
        iss = self.issuer()
        if path == "/jwks":
            return self.reply(200, {"keys": [SIGNING_KEY.jwk()]})
        return self.reply(200, {
            "issuer": iss,
            "authorization_endpoint": iss + "/authorize",
            "token_endpoint": iss + "/token",
            "jwks_uri": iss + "/jwks",
            "registration_endpoint": iss + "/register",
            "revocation_endpoint": iss + "/revoke",
            "introspection_endpoint": iss + "/introspect",
            "device_authorization_endpoint": iss + "/device_authorization",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT],
        })

    def login_page(self, q):
        keep = ("client_id", "redirect_uri", "state", "nonce", "scope", "code_challenge",
                "code_challenge_method", "response_type")
        hidden = "\n".join('<input type="hidden" name="%s" value="%s">' % (k, _html.escape(q[k], quote=True))
                           for k in keep if k in q)
        data = (LOGIN_PAGE % hidden).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def login_post(self, form):
        """The login page's form: the person is whoever they typed (test provider)."""
        email = (form.get("email") or "").strip().lower()
        if "@" not in email:
            return self.error(400, "invalid_request", "an address is required")
        return self.authorize(form, email=email, tamper=form.get("tamper"))

    def id_token(self, cid, code):
        KEYS_READY.wait(120)
        now = int(time.time())
        t = code.get("tamper")
        claims = {"iss": self.issuer(), "sub": hashlib.sha256(code["email"].encode()).hexdigest()[:24],
                  "aud": cid, "iat": now, "exp": now + 600, "auth_time": now,
                  "email": code["email"], "email_verified": True}
        if code.get("nonce") is not None:
            claims["nonce"] = code["nonce"]
        if t == "aud":
            claims["aud"] = "client-someone-else"
        elif t == "nonce":
            claims["nonce"] = "not-the-nonce-you-sent"
        elif t == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif t == "issuer":
            claims["iss"] = "http://issuer.invalid"
        elif t == "unverified":
            claims["email_verified"] = False
        key = OTHER_KEY if t == "signature" else SIGNING_KEY
        return jwt_rs256(claims, key, SIGNING_KEY.kid)
# ================================================================== end OpenID Connect

class Handler(DeviceFlow, OpenIdProvider, BaseHTTPRequestHandler):
    server_version = "breachwatch-test-oauth/1"

    def log_message(self, fmt, *args):  # tokens travel in bodies only; the path is safe to log
        pass

    def reply(self, code, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, code, err, desc):
        headers = {"WWW-Authenticate": "Basic"} if code == 401 else None
        self.reply(code, {"error": err, "error_description": desc}, headers)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None
        return self.rfile.read(n)

    def form(self):
        raw = self.body() or b""
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}

    def claimed(self, form):
        """RFC 6749 2.3.1: HTTP Basic (form-urlencoded parts) or the request body."""
        h = self.headers.get("Authorization", "")
        if h.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
                return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(pw)
            except Exception:
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def client_auth(self, form):
        cid, secret = self.claimed(form)
        c = CLIENTS.get(cid or "")
        if c is None or not secrets.compare_digest(c["secret"], secret or ""):
            return None
        return cid

    def issue(self, cid, scope, refresh):
        c = CLIENTS[cid]
        tok = "at-" + secrets.token_urlsafe(24)
        ACCESS[tok] = {"client_id": cid, "email": c["email"], "exp": time.time() + c["lifetime"], "scope": scope}
        out = {"access_token": tok, "token_type": "Bearer", "expires_in": c["lifetime"]}
        if scope:
            out["scope"] = scope
        if refresh:
            rt = "rt-" + secrets.token_urlsafe(24)
            REFRESH[rt] = {"client_id": cid, "email": c["email"], "scope": scope}
            out["refresh_token"] = rt
        return out

    # ------------------------------------------------------------------ GET
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        with LOCK:
            if url.path == "/health":
                return self.reply(200, {"status": "ok"})
            if url.path.startswith("/stats/"):
                cid = url.path[len("/stats/"):]
                return self.reply(200, STATS.get(cid, {"token_requests": 0, "token_errors": 0, "introspections": 0}))
            if url.path in OIDC_PATHS:  # OpenID Connect: see the OpenIdProvider block
                return self.oidc_get(url.path)
            if url.path == "/authorize":
                return self.authorize(q)
        self.error(404, "not_found", "no such endpoint")

    def authorize(self, q, email=None, tamper=None):
        c = CLIENTS.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if c is None or (c["redirect_uris"] and redirect not in c["redirect_uris"]):
            # RFC 6749 4.1.2.1: never redirect to an unchecked URI
            return self.error(400, "invalid_request", "unknown client or redirect_uri")
        openid = "openid" in (q.get("scope") or "").split()
        if openid and email is None and q.get("response_type") == "code":
            return self.login_page(q)  # OpenID Connect: a person signs in first
        params = {"state": q["state"]} if "state" in q else {}
        if q.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif q.get("code_challenge") and q.get("code_challenge_method", "plain") != "S256":
            params["error"] = "invalid_request"
        else:
            code = "code-" + secrets.token_urlsafe(16)
            CODES[code] = {"client_id": q["client_id"], "email": email or c["email"], "redirect_uri": redirect,
                           "challenge": q.get("code_challenge"), "scope": q.get("scope"), "exp": time.time() + 600,
                           "openid": openid, "nonce": q.get("nonce"),
                           "tamper": tamper if tamper in TAMPER else None}
            params["code"] = code
        sep = "&" if "?" in redirect else "?"
        self.send_response(302)
        self.send_header("Location", redirect + sep + urllib.parse.urlencode(params))
        self.send_header("Content-Length", "0")
        self.end_headers()

    # ------------------------------------------------------------------ POST
    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/register":
            raw = self.body()
            try:
                meta = json.loads(raw or b"{}")
            except ValueError:
                return self.error(400, "invalid_client_metadata", "body is not JSON")
            email = meta.get("email")
            if not isinstance(email, str) or "@" not in email:
                return self.error(400, "invalid_client_metadata", "email (the mailbox) is required")
            with LOCK:
                cid = "client-" + secrets.token_hex(8)
                c = {"secret": secrets.token_urlsafe(24), "email": email.lower(),
                     "lifetime": int(meta.get("access_token_lifetime", 3600)),
                     "reg_token": secrets.token_urlsafe(24), "redirect_uris": meta.get("redirect_uris") or []}
                CLIENTS[cid] = c
                return self.reply(201, {"client_id": cid, "client_secret": c["secret"],
                                        "client_id_issued_at": int(time.time()), "client_secret_expires_at": 0,
                                        "registration_access_token": c["reg_token"],
                                        "registration_client_uri": "/register/" + cid,
                                        "redirect_uris": c["redirect_uris"], "email": c["email"]})
        form = self.form()
        with LOCK:
            if path in DEVICE_PATHS:  # device flow (RFC 8628): see the DeviceFlow block
                return self.device_post(path, form)
            if path == "/token":
                return self.token(form)
            if path == "/authorize/login":  # OpenID Connect: see the OpenIdProvider block
                return self.login_post(form)
            if path == "/introspect":
                t = ACCESS.get(form.get("token", ""))
                if t is not None:
                    stat(t["client_id"], "introspections")
                if t is None or t["exp"] <= time.time() or t["client_id"] not in CLIENTS:
                    return self.reply(200, {"active": False})
                return self.reply(200, {"active": True, "email": t["email"], "client_id": t["client_id"],
                                        "exp": int(t["exp"]), "scope": t["scope"] or "", "token_type": "Bearer"})
            if path.startswith("/expire/"):
                # Test aid: the client's access tokens stop working now, as when a
                # provider revokes them before their stated lifetime (password reset,
                # admin action). The client itself stays registered.
                cid = path[len("/expire/"):]
                n = 0
                for t in ACCESS.values():
                    if t["client_id"] == cid:
                        t["exp"] = 0
                        n += 1
                return self.reply(200, {"expired": n})
            if path == "/revoke":
                cid = self.client_auth(form)
                if cid is None:
                    return self.error(401, "invalid_client", "client authentication failed")
                tok = form.get("token", "")
                for table in (ACCESS, REFRESH):
                    if table.get(tok, {}).get("client_id") == cid:
                        del table[tok]
                return self.reply(200, {})
        self.error(404, "not_found", "no such endpoint")

    def token(self, form):
        cid = self.client_auth(form)
        if cid is None:
            stat(self.claimed(form)[0] or "?", "token_errors")
            return self.error(401, "invalid_client", "client authentication failed")
        stat(cid, "token_requests")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self.reply(200, self.issue(cid, form.get("scope"), refresh=False))
        if grant == DEVICE_GRANT:  # device flow (RFC 8628): see the DeviceFlow block
            return self.device_token(cid, form)
        if grant == "refresh_token":
            rt = REFRESH.get(form.get("refresh_token", ""))
            if rt is None or rt["client_id"] != cid:
                stat(cid, "token_errors")
                return self.error(400, "invalid_grant", "refresh token unknown, spent or revoked")
            del REFRESH[form["refresh_token"]]  # rotation: a refresh token works once
            return self.reply(200, self.issue(cid, rt["scope"], refresh=True))
        if grant == "authorization_code":
            code = CODES.pop(form.get("code", ""), None)
            if code is None or code["client_id"] != cid or code["exp"] < time.time() \
                    or code["redirect_uri"] != form.get("redirect_uri", ""):
                stat(cid, "token_errors")
                return self.error(400, "invalid_grant", "code unknown, used, expired or for another redirect_uri")
            if code["challenge"]:
                v = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
                if digest != code["challenge"]:
                    stat(cid, "token_errors")
                    return self.error(400, "invalid_grant", "PKCE verifier does not match")
            out = self.issue(cid, code["scope"], refresh=True)
            if code.get("openid"):
                ACCESS[out["access_token"]]["email"] = code["email"]
                out["id_token"] = self.id_token(cid, code)
            return self.reply(200, out)
        stat(cid, "token_errors")
        return self.error(400, "unsupported_grant_type", "grant_type not supported")

    # ------------------------------------------------------------------ DELETE
    def do_DELETE(self):
        path = urllib.parse.urlsplit(self.path).path
        if not path.startswith("/register/"):
            return self.error(404, "not_found", "no such endpoint")
        cid = path[len("/register/"):]
        with LOCK:
            c = CLIENTS.get(cid)
            auth = self.headers.get("Authorization", "")
            if c is None or not secrets.compare_digest("Bearer " + c["reg_token"], auth):
                return self.error(401, "invalid_token", "registration access token required")
            del CLIENTS[cid]
            for table in (ACCESS, REFRESH):
                for t in [t for t, v in table.items() if v["client_id"] == cid]:
                    del table[t]
        self.send_response(204)
        self.end_headers()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid-file")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    # The OpenID keys are made after the port is bound (pure-Python RSA can take
    # seconds); the OpenID endpoints wait for them (KEYS_READY).
    threading.Thread(target=make_keys, daemon=True).start()
    if a.pid_file:
        import os
        with open(a.pid_file, "w") as f:
            f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
