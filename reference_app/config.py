"""Settings of the reference app, read once from the environment (``JXC_*``).

``JXC_DATABASE_URL`` has no default: an app that silently falls back to some local file would
measure the wrong database. The token signing key defaults to the one stored in ``app_meta`` by
``create_schema`` so that every worker process of every service agrees without a shared file.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference_app.db import backend_of, parse_sqlite_pragmas


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JXC_", extra="ignore")

    database_url: str
    # Connections per worker process; size it to the threads that may touch the database at once.
    pool_size: int = Field(default=10, ge=1, le=500)
    max_overflow: int = Field(default=10, ge=0, le=500)
    # None: use app_meta.secret_key (written by create_schema).
    secret_key: str | None = Field(default=None, min_length=16)
    token_ttl_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    # Credit limit of a new customer when the request gives none (yuan, with cents).
    default_credit_limit_cents: int = Field(default=10_000_000, ge=0)
    # How often a unit of work is retried after a deadlock / serialization failure.
    write_retries: int = Field(default=5, ge=0, le=50)

    # SQLite only: extra PRAGMAs for every connection, "name=value;name=value" (a profile's
    # database.settings reach the app this way).
    sqlite_pragmas: str | None = None

    @field_validator("sqlite_pragmas")
    @classmethod
    def _pragmas(cls, value: str | None) -> str | None:
        parse_sqlite_pragmas(value)  # a clear ValueError naming the bad item
        return value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        backend_of(value)  # raises a clear ValueError for unsupported URLs
        return value


__all__ = ["Settings"]
