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

class Handler(DeviceFlow, BaseHTTPRequestHandler):
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
            if url.path == "/authorize":
                return self.authorize(q)
        self.error(404, "not_found", "no such endpoint")

    def authorize(self, q):
        c = CLIENTS.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if c is None or (c["redirect_uris"] and redirect not in c["redirect_uris"]):
            # RFC 6749 4.1.2.1: never redirect to an unchecked URI
            return self.error(400, "invalid_request", "unknown client or redirect_uri")
        params = {"state": q["state"]} if "state" in q else {}
        if q.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif q.get("code_challenge") and q.get("code_challenge_method", "plain") != "S256":
            params["error"] = "invalid_request"
        else:
            code = "code-" + secrets.token_urlsafe(16)
            CODES[code] = {"client_id": q["client_id"], "email": c["email"], "redirect_uri": redirect,
                           "challenge": q.get("code_challenge"), "scope": q.get("scope"), "exp": time.time() + 600}
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
            return self.reply(200, self.issue(cid, code["scope"], refresh=True))
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
    if a.pid_file:
        import os
        with open(a.pid_file, "w") as f:
            f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
