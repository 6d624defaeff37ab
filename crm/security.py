"""Response headers and cookies of the back office (flask-talisman): a Content-Security-Policy the
admin pages satisfy, no framing, nosniff; over HTTPS (BACKOFFICE_HTTPS) HSTS, a redirect from plain
http and `Secure` cookies. Session and remember cookies are always HttpOnly and SameSite=Lax.
Behind reverse proxies, BACKOFFICE_PROXY_HOPS (how many) makes their X-Forwarded-* headers count.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_admin import Admin
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

# The inline event handlers Flask-Admin's bootstrap4 templates write on our pages besides the
# "With selected" actions (below): row delete, filter menu, "Add Sale Line". CSP allows exactly
# these texts, by hash; tests/security/test_headers.py fails when a page carries any other.
ADMIN_INLINE_HANDLERS = (
    "return faHelpers.safeConfirm('Are you sure you want to delete this record?');",
    "return false;",
    "faForm.addInlineField(this, 'lines');",
)
FALSY = {"0", "false", "no", "off", ""}


def csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def admin_inline_handlers(admin: Admin) -> list[str]:
    """Every inline handler the admin pages carry: the fixed ones and one per list action."""
    handlers = list(ADMIN_INLINE_HANDLERS)
    for view in admin._views:  # Flask-Admin keeps no public list of its views
        for name, _text in getattr(view, "_actions", []):  # ActionsMixin.init_actions' list
            handlers.append(f"return modelActions.execute('{name}');")
    return sorted(set(handlers))


def content_security_policy(handlers: list[str]) -> dict[str, str | list[str]]:
    """Only our own origin; scripts by nonce (Flask-Admin's inline ones) or by hash (its handlers).
    Inline style *attributes* are allowed (the plugin's progress bar width); <style> is not.
    No form-action: the OAuth authorize POST redirects to Intuit's (or the emulator's) site."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", "'unsafe-hashes'", *map(csp_hash, handlers)],
        "style-src": "'self'",
        "style-src-attr": "'unsafe-inline'",
        "img-src": ["'self'", "data:"],
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
    }


def https_setting(config: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    """BACKOFFICE_HTTPS from the config or the environment; on unless testing (the demo turns it
    off: it serves plain http://127.0.0.1)."""
    value = config.get("BACKOFFICE_HTTPS")
    if value is None:
        value = env.get("BACKOFFICE_HTTPS")
    if value is None:
        return not config.get("TESTING")
    if isinstance(value, str):
        return value.strip().lower() not in FALSY
    return bool(value)


def proxy_hops(config: Mapping[str, Any], env: Mapping[str, str]) -> int:
    """BACKOFFICE_PROXY_HOPS: the reverse proxies in front of the app (0: none, the default)."""
    value = config.get("BACKOFFICE_PROXY_HOPS")
    if value is None:
        value = env.get("BACKOFFICE_PROXY_HOPS") or 0
    hops = int(value)
    if hops < 0:
        raise ValueError(f"BACKOFFICE_PROXY_HOPS must be 0 or more, not {hops}")
    return hops


def csp_nonce() -> str:
    """This request's nonce (Talisman draws one per request), for Flask-Admin's inline scripts."""
    return str(getattr(request, "csp_nonce", ""))


def init_security(app: Flask, admin: Admin) -> None:
    """Headers and cookies; called once every admin view is added (their actions are in the CSP)."""
    https = https_setting(app.config, os.environ)
    app.config["BACKOFFICE_HTTPS"] = https
    hops = app.config["BACKOFFICE_PROXY_HOPS"] = proxy_hops(app.config, os.environ)
    if hops:  # the client's address (sign-in limits) and scheme as the proxies saw them
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
    )
    Talisman(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        frame_options="DENY",
        content_security_policy=content_security_policy(admin_inline_handlers(admin)),
        content_security_policy_nonce_in=["script-src"],
        x_content_type_options=True,
        referrer_policy="same-origin",
    )
