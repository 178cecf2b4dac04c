"""One typed settings object, read from ``GOVSHARE_*`` environment variables.

Every field carries a description; ``docs/settings.md`` is generated from them and a test keeps
the two in step. Outside development a placeholder or missing secret key is refused. For the
embedded default (SQLite in the data folder) a random secret key is generated on first run and
kept in ``<data_dir>/secret_key`` with mode 0600, so restarts keep sessions valid.
"""

from __future__ import annotations

import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "dev", "development", "placeholder"}
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SettingsError(ValueError):
    """A setting is missing or unsafe for the chosen environment."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVSHARE_", extra="ignore")

    env: Environment = Field(
        Environment.development,
        description="Deployment environment: development, test or production. Production refuses "
        "placeholder secrets and always sets Secure cookies.",
    )
    data_dir: Path = Field(
        Path("var"),
        description="Folder for the embedded SQLite database, the generated secret key and "
        "uploaded files.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database. Default: SQLite at <data_dir>/govshare.db. "
        "Production: postgresql+psycopg://user:password@host/dbname.",
    )
    database_pool_size: int = Field(
        10, ge=1, le=200,
        description="PostgreSQL connections each web process keeps open (SQLAlchemy pool_size). "
        "Up to as many again are opened under load and closed after (max_overflow). Size it "
        "so that processes x 2 x this stays under the server's max_connections.",
    )
    open311_posts_per_key_per_minute: int = Field(
        600, ge=1,
        description="Service requests one API key may submit through Open311 per minute; "
        "past it, 429 with Retry-After (a runaway client cannot flood the staff queues).",
    )
    open311_cache_mb: int = Field(
        32, ge=0,
        description="Memory, in MB per web process, for rendered Open311 read answers "
        "(reused while nothing they show has changed; see docs/adr/0008). 0 turns it off.",
    )
    secret_key: str | None = Field(
        None,
        description="Key that signs CSRF tokens and derives other secrets. Required outside "
        "development; in development it is generated and kept in <data_dir>/secret_key.",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Send cookies only over HTTPS. Default: on in production, off in development "
        "and test (which serve plain HTTP on 127.0.0.1).",
    )
    session_hours: float = Field(
        8.0, gt=0, description="Hours a staff login session stays valid without a new login."
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed sign-ins of one kind within login_window_minutes before each "
        "further attempt must wait (429 with Retry-After): per account from unknown places, "
        "per account and known address, per device cookie (ADR 15).",
    )
    login_delay_seconds: float = Field(
        60.0, gt=0, le=3600,
        description="First wait after login_max_failures failed sign-ins; doubled by each "
        "further failure, at most login_window_minutes. A progressive delay, not a lockout: "
        "the user's own browser (device cookie) and known addresses are counted apart.",
    )
    login_trust_days: int = Field(
        90, ge=1, le=3660,
        description="Days a browser's device cookie and an address the user signed in from "
        "stay known to that account (their failed sign-ins are throttled apart from "
        "unknown places, so an attacker elsewhere cannot lock the user out).",
    )
    login_max_failures_per_address: int = Field(
        50,
        ge=1,
        description="Failed sign-ins allowed per client address (across accounts) within "
        "login_window_minutes before further attempts from it get 429 (except with a device "
        "cookie). Higher than the per-account limit: a whole office behind one NAT address "
        "shares it.",
    )
    login_window_minutes: int = Field(
        15, ge=1, description="Window, in minutes, over which failed logins are counted."
    )
    us_atlas_dir: Path | None = Field(
        None,
        description="Folder of the npm package us-atlas (counties-10m.json, states-10m.json), "
        "the source of Census boundaries for `govshare region create`. Default: "
        "web/node_modules/us-atlas in the source checkout, else in the current folder.",
    )
    static_vendor_dir: Path | None = Field(
        None,
        description="Folder holding the front-end packages copied from npm (USWDS, Leaflet, "
        "axe-core). Default: the package's web/static/vendor.",
    )
    log_level: str = Field("INFO", description="Log level of the JSON logs on standard error.")
    log_json: bool = Field(
        True, description="Write logs as one JSON object per line (off: plain text)."
    )
    tellusonce_retention_days: int = Field(
        30,
        ge=1,
        description="Days a tell-us-once report keeps its (encrypted) personal data, and the "
        "outbox the notification bodies, before `govshare tellusonce purge` (also run hourly "
        "by `govshare worker`) deletes them; the reference and consent record stay.",
    )
    outbox_max_attempts: int = Field(
        10,
        ge=1,
        description="Delivery attempts of a webhook before it becomes a dead letter. With the "
        "default backoff, 10 attempts span at least 92 minutes, so a receiver that is down for "
        "an hour still gets every message.",
    )
    outbox_max_age_hours: float = Field(
        24.0,
        gt=0,
        description="Hours after which a webhook that still fails becomes a dead letter, "
        "whatever its attempt count.",
    )
    outbox_backoff_base_seconds: float = Field(
        30.0,
        gt=0,
        description="Wait before the first retry of a failed webhook; doubled on each further "
        "failure (with jitter over the upper half of the window), up to the cap.",
    )
    outbox_backoff_cap_seconds: float = Field(
        3600.0, gt=0, description="Longest wait between two delivery attempts of a webhook."
    )
    outbox_lease_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a worker holds a claimed webhook. If the worker dies, another "
        "worker takes the message over once the lease has run out. Keep it above "
        "outbox_timeout_seconds.",
    )
    outbox_timeout_seconds: float = Field(
        10.0, gt=0, le=300,
        description="The longest one webhook attempt may take, from connecting to the "
        "answer's status line, however slowly the receiver answers.",
    )
    outbox_allow_loopback: bool | None = Field(
        None,
        description="Let webhooks go to this machine's loopback addresses (127.0.0.1, ::1, "
        "localhost), plain http included: only for the demo's and the tests' reference "
        "receiver (`govshare outbox receiver`). Default: on in development and test, off in "
        "production, where turning it on is refused. Private, link-local, multicast and "
        "reserved addresses are refused whatever this says.",
    )
    map_tile_url: str | None = Field(
        None,
        description="URL template of a raster tile server for the maps' streets, e.g. "
        "https://tiles.example.org/{z}/{x}/{y}.png (https only; {s}, {z}, {x}, {y} and {r} "
        "are filled in by Leaflet). The pages' Content-Security-Policy admits images from "
        "that origin only. Default: none; maps draw member boundaries on a plain background, "
        "work offline, and say so.",
    )
    map_tile_attribution: str = Field(
        "",
        description="Attribution shown on every map when map_tile_url is set (e.g. "
        "'© OpenStreetMap contributors'); required by most tile servers' terms.",
    )
    geocoder: str = Field(
        "none", pattern="^(none|census)$",
        description="Online geocoder asked for an address that is not among the region's "
        "address points: 'none' (default; nothing at run time depends on a network service) "
        "or 'census' (the US Census Geocoder, one-line address, public address ranges). An "
        "address it places is marked with its source; if it does not answer in "
        "geocoder_timeout_seconds the person is asked for a pin on the map instead.",
    )
    census_geocoder_url: str = Field(
        "https://geocoding.geo.census.gov/geocoder/locations/onelineaddress",
        description="Endpoint of the US Census Geocoder (used only when geocoder is 'census').",
    )
    geocoder_timeout_seconds: float = Field(
        3.0, gt=0, le=30, description="The longest an online geocoder may take to answer.")
    page_wait_seconds: float = Field(
        2.0, ge=0, le=30,
        description="How long a page that starts a long computation (a consolidation solve) "
        "waits for it before showing its progress page instead; the computation goes on in "
        "the background either way.")
    body_limit_form_kb: int = Field(
        256, ge=1, le=10 * 1024,
        description="Largest body, in KB, of a page's form POST (sign-in, admin and staff "
        "forms, public forms without a file). Bigger: 413, before any of it is parsed.",
    )
    body_limit_api_kb: int = Field(
        1024, ge=1, le=100 * 1024,
        description="Largest body, in KB, of a JSON API or Open311 request. Bigger: 413, "
        "counted while it streams in.",
    )
    body_limit_upload_mb: int = Field(
        25, ge=1, le=1024,
        description="Largest body, in MB, of a route that takes a file (asset import, "
        "boundary upload; a service request with a photo has its own 5 MB photo cap). "
        "Bigger: 413 as soon as it is seen, so nothing past it reaches memory or disk.",
    )
    oidc_issuer: str | None = Field(
        None,
        description="Issuer URL of an OpenID Connect identity provider that residents may "
        "verify their identity with before a tell-us-once report (e.g. Login.gov: "
        "https://secure.login.gov/). Its discovery document, keys and token endpoint are "
        "asked for when a resident uses it; pages may send the browser to its origin only. "
        "https only (http to 127.0.0.1 or localhost outside production, for tests). Default: "
        "none; every report waits for staff to confirm it (ADR 19).",
    )
    oidc_provider_name: str = Field(
        "your identity provider", max_length=60,
        description="The identity provider's name as residents know it, shown on the button "
        "('Verify your identity with Login.gov').",
    )
    oidc_client_id: str | None = Field(
        None, description="This site's client id at the identity provider (required with "
        "oidc_issuer).",
    )
    oidc_client_secret: str | None = Field(
        None,
        description="Client secret at the identity provider (sent by HTTP Basic). Leave it "
        "unset for a public client that proves itself by PKCE alone, as Login.gov allows.",
    )
    oidc_client_private_key_file: Path | None = Field(
        None,
        description="PEM file of this site's private key (RSA or EC P-256) for private_key_jwt "
        "client authentication: the token request carries a short-lived JWT signed with it "
        "(RFC 7523), as Login.gov asks of web sites; its public key is registered with the "
        "provider. Not with oidc_client_secret. Read when the provider is first used.",
    )
    oidc_client_key_id: str | None = Field(
        None, max_length=200,
        description="The key id (kid) under which the provider knows the private_key_jwt key.",
    )
    oidc_post_logout_redirect_uri: str | None = Field(
        None,
        description="Where the identity provider sends the resident after signing them out "
        "(registered with it). Default: <this site>/tell-us-once as the request reached it.",
    )
    oidc_acr: str = Field(
        "http://idmanagement.gov/ns/assurance/ial/2", max_length=200,
        description="The assurance level (acr value) a resident's identity must have for a "
        "report to go straight to the agencies; asked for as acr_values and checked in the "
        "ID token. Default: Login.gov's identity assurance level 2.",
    )
    oidc_acr_also_accepted: str = Field(
        "", max_length=1000,
        description="Other acr values, separated by spaces, that are at or above oidc_acr "
        "(e.g. a provider's stronger level). Any other acr is below the level: the report "
        "waits for staff.",
    )
    oidc_scopes: str = Field(
        "openid email profile", max_length=300,
        description="Scopes asked of the identity provider, separated by spaces ('openid' "
        "is always asked).",
    )
    oidc_identity_minutes: int = Field(
        30, ge=1, le=240,
        description="Minutes a verified identity is kept (sealed in an HttpOnly cookie) for "
        "the resident to finish the report; it is forgotten once a report is sent.",
    )
    oidc_redirect_uri: str | None = Field(
        None,
        description="The callback URL registered with the identity provider. Default: "
        "<this site>/tell-us-once/identity/callback as the request reached it.",
    )
    oidc_timeout_seconds: float = Field(
        10.0, gt=0, le=60,
        description="The longest a request to the identity provider (discovery, keys, token) "
        "may take.",
    )
    rate_limit_retention_hours: int = Field(
        24, ge=1, le=24 * 366,
        description="Hours the rate-limit records (client addresses, account e-mail addresses) "
        "are kept before the hourly housekeeping of `govshare worker` deletes them. At least "
        "the longest counting window (login_window_minutes, and the one-hour limit of the "
        "public forms).",
    )

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.outbox_lease_seconds <= self.outbox_timeout_seconds:
            raise SettingsError("GOVSHARE_OUTBOX_LEASE_SECONDS must be longer than "
                                "GOVSHARE_OUTBOX_TIMEOUT_SECONDS, or a slow delivery would be "
                                "taken over by another worker while it is still running")
        if self.rate_limit_retention_hours * 60 < self.login_window_minutes:
            raise SettingsError("GOVSHARE_RATE_LIMIT_RETENTION_HOURS must cover "
                                "GOVSHARE_LOGIN_WINDOW_MINUTES, or failed logins would be "
                                "forgotten before their window has passed")
        if self.map_tile_url is not None and not self.map_tile_origin:
            raise SettingsError("GOVSHARE_MAP_TILE_URL must be an https URL template such as "
                                "https://tiles.example.org/{z}/{x}/{y}.png")
        if self.oidc_issuer is not None:
            if not self.oidc_origin:
                raise SettingsError("GOVSHARE_OIDC_ISSUER must be an https URL such as "
                                    "https://secure.login.gov/ (http only to 127.0.0.1 or "
                                    "localhost, and not in production)")
            if not self.oidc_client_id:
                raise SettingsError("GOVSHARE_OIDC_CLIENT_ID is required with "
                                    "GOVSHARE_OIDC_ISSUER")
            if self.oidc_client_private_key_file is not None and self.oidc_client_secret:
                raise SettingsError("Set GOVSHARE_OIDC_CLIENT_SECRET or "
                                    "GOVSHARE_OIDC_CLIENT_PRIVATE_KEY_FILE, not both: the "
                                    "provider registers one way for the site to prove itself")
        if self.env is Environment.production:
            if self.outbox_allow_loopback:
                raise SettingsError("GOVSHARE_OUTBOX_ALLOW_LOOPBACK must not be on in "
                                    "production: webhooks could reach services on this "
                                    "machine")
            if self.secret_key is None or self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
                raise SettingsError(
                    "GOVSHARE_SECRET_KEY must be set to a random value in production "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if len(self.secret_key) < 32:
                raise SettingsError("GOVSHARE_SECRET_KEY must be at least 32 characters long")
        return self

    @property
    def body_limits(self) -> dict[str, int]:
        """Bytes per kind of body, for ``core.http.BodyLimit``."""
        return {"form": self.body_limit_form_kb * 1024, "api": self.body_limit_api_kb * 1024,
                "upload": self.body_limit_upload_mb * 1024 * 1024}

    @property
    def map_tile_origin(self) -> str | None:
        """The tile server's origin (scheme, host, port) for the CSP, or None."""
        m = re.match(r"^(https://(?:\{s\}\.)?[A-Za-z0-9.-]+(?::\d{1,5})?)/\S*\{z\}\S*$",
                     self.map_tile_url or "")
        if m is None:
            return None
        return m.group(1).replace("{s}.", "*.")

    @property
    def oidc_origin(self) -> str | None:
        """The identity provider's origin (scheme, host, port) for the CSP, or None when none
        is configured or its issuer URL is not allowed."""
        m = re.match(r"^(https?)://([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?(/[^\s?#]*)?$",
                     self.oidc_issuer or "")
        if m is None:
            return None
        scheme, host = m.group(1), m.group(2).lower()
        if scheme == "http" and (self.env is Environment.production
                                 or host not in ("127.0.0.1", "localhost", "[::1]")):
            return None
        return f"{scheme}://{host}{m.group(3) or ''}"

    @property
    def oidc_accepted_acr(self) -> frozenset[str]:
        """The acr values at or above the required level."""
        return frozenset({self.oidc_acr, *self.oidc_acr_also_accepted.split()})

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'govshare.db').as_posix()}"

    @property
    def resolved_us_atlas_dir(self) -> Path:
        if self.us_atlas_dir is not None:
            return self.us_atlas_dir
        checkout = Path(__file__).resolve().parents[3] / "web" / "node_modules" / "us-atlas"
        return checkout if checkout.exists() else Path("web/node_modules/us-atlas")

    @property
    def outbox_allows_loopback(self) -> bool:
        if self.outbox_allow_loopback is not None:
            return self.outbox_allow_loopback
        return self.env is not Environment.production

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        if self.env is Environment.production:
            return True
        return bool(self.cookie_secure)

    def resolved_secret_key(self) -> str:
        """The secret key; in development or test, generated once and kept in the data folder."""
        if self.secret_key and self.secret_key.strip().lower() not in PLACEHOLDER_SECRETS:
            return self.secret_key
        if self.env is Environment.production:  # pragma: no cover - the validator refuses this
            raise SettingsError("GOVSHARE_SECRET_KEY is required in production")
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key


def settings_reference() -> list[dict[str, Any]]:
    """Name, default and description of every setting, for docs and `govshare settings`."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        rows.append(
            {
                "env": f"GOVSHARE_{name.upper()}",
                "default": "" if default is None else str(default),
                "description": field.description or "",
            }
        )
    return rows


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
