"""Superset configuration for regbench: everything from the environment, nothing defaulted that
matters in production. Loaded through SUPERSET_CONFIG_PATH by `regbench superset ...`."""

import os
from pathlib import Path

_home = Path(os.environ.get("SUPERSET_HOME", "var/superset")).resolve()
_home.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]  # no default: regbench generates or demands one
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_METADATA_URI", f"sqlite:///{_home / 'superset.db'}?check_same_thread=false"
)
DATA_DIR = str(_home)

# In-process caches: the local stack needs no Redis; a deployment sets SUPERSET_REDIS_URL.
_redis = os.environ.get("SUPERSET_REDIS_URL")
if _redis:
    _cache = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": _redis, "CACHE_DEFAULT_TIMEOUT": 3600}
else:
    _cache = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 3600}
CACHE_CONFIG = {**_cache, "CACHE_KEY_PREFIX": "regbench_"}
DATA_CACHE_CONFIG = {**_cache, "CACHE_KEY_PREFIX": "regbench_data_"}
FILTER_STATE_CACHE_CONFIG = {**_cache, "CACHE_KEY_PREFIX": "regbench_filter_"}
EXPLORE_FORM_DATA_CACHE_CONFIG = {**_cache, "CACHE_KEY_PREFIX": "regbench_explore_"}

# Superset 6.1 ships no Swedish language pack (asking for "sv" leaves the UI without one), so its
# own menus stay English; the dashboards' titles, labels and indicator names are Swedish, and the
# indicator tables carry the English names beside them (docs/decisions/0008-dashboards-as-code.md).
BABEL_DEFAULT_LOCALE = "en"
LANGUAGES = {"en": {"flag": "us", "name": "English"}}

FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,
    "EMBEDDED_SUPERSET": False,
    "ALERT_REPORTS": False,
}
ROW_LIMIT = 50000
# Dashboards read only the published file; nobody uploads or writes through Superset. Unsafe
# URIs (sqlite, shillelagh: a window on the server's files) are refused; duckdb:/// is not on
# Superset's list, and regbench opens it read-only.
PREVENT_UNSAFE_DB_CONNECTIONS = True
SQLLAB_CTAS_NO_LIMIT = False
WTF_CSRF_ENABLED = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True

# Served over TLS (behind the reverse proxy that terminates it): the session cookie only travels
# over https, and Superset trusts the proxy's X-Forwarded-* headers for its own URLs.
_TLS = os.environ.get("SUPERSET_TLS", "0").strip().lower() in {"1", "true", "yes", "on"}
SESSION_COOKIE_SECURE = _TLS
ENABLE_PROXY_FIX = _TLS

# Security headers and a Content-Security-Policy, on unless SUPERSET_TALISMAN=0 (to debug). The
# policy is Superset's own without the outside hosts (telemetry, map tiles, fonts): every
# dashboard draws from Superset itself (the browser test in tests/e2e/test_superset.py runs with
# it), and the browser is told to fetch nothing from anywhere else.
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN", "1").strip().lower() not in {"0", "false", "no",
                                                                                    "off"}
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,  # the proxy redirects http to https; Superset itself never sees TLS
    "session_cookie_secure": _TLS,
}
TALISMAN_DEV_CONFIG = TALISMAN_CONFIG
# No calls home from the server (the browser pixel is blocked in tests).
SCARF_ANALYTICS = False
# Roles, users and row-level security are provisioned over REST by `regbench dashboards deploy`.
FAB_ADD_SECURITY_API = True
