"""``jxcbench init-db``, ``serve`` and ``audit``: set up, run and check the reference app."""

from __future__ import annotations

import json
import os
import secrets
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from loadgen.errors import JxcError
from reference_app.audit import audit as run_audit
from reference_app.db import UnsupportedDatabase, make_engine
from reference_app.models import Operator
from reference_app.schema import INDEX_LEVELS, create_schema, foreign_tables, has_schema
from reference_app.security import hash_password

DbOption = Annotated[str, typer.Option("--db", help="SQLAlchemy URL: sqlite:///FILE, postgresql+psycopg://..., mysql+pymysql://...")]


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _engine(url: str, *, must_exist: bool = True):
    try:
        u = make_url(url)
        if not u.database:
            raise JxcError(f"--db {_shown(url)}: the URL names no database (…/DBNAME, or sqlite:///FILE)")
        # SQLite would create an empty file just by connecting: refuse instead of leaving one behind.
        if must_exist and u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" \
                and not os.path.exists(u.database):
            raise JxcError(f"--db {_shown(url)}: no such SQLite file; run `jxcbench init-db --db ...` first")
        return make_engine(url, pool_size=2, max_overflow=0)
    except (UnsupportedDatabase, ArgumentError) as exc:
        raise JxcError(f"--db {_shown(url)}: {exc}") from exc


def _db_failure(url: str, exc: DBAPIError) -> JxcError:
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return JxcError(f"--db {_shown(url)}: cannot use the database: {first}")


def init_db(
    db: DbOption,
    admin_password: Annotated[str | None, typer.Option(help="password of the `admin` account (default: generated and printed once)")] = None,
    index_level: Annotated[str, typer.Option(help="basic | tuned (tuned adds contains-search indexes)")] = "basic",
    arch: ArchOption = "monolith",
) -> None:
    """Create the schema and an `admin` operator (idempotent: an existing admin is left as it is).
    With --arch microservices: one database per service (derived from --db) and their schemas."""
    _check_arch(arch)
    if index_level not in INDEX_LEVELS:
        raise JxcError(f"--index-level: must be one of {', '.join(INDEX_LEVELS)}, not {index_level!r}")
    if admin_password is not None and len(admin_password) < 8:
        raise JxcError("--admin-password: must be at least 8 characters")
    if arch == "microservices":
        from reference_app.micro.topology import create_service_schemas

        _engine(db, must_exist=False).dispose()  # the URL's own checks
        try:
            db = create_service_schemas(db, index_level)["customers"]  # the admin lives with the operators
        except DBAPIError as exc:
            raise _db_failure(db, exc) from exc
    engine = _engine(db, must_exist=False)
    try:
        others = foreign_tables(engine) if arch == "monolith" else set()
        if others:
            raise JxcError(f"--db {_shown(db)}: holds tables that are not jxcbench's ({', '.join(sorted(others)[:5])}); "
                           "use an empty database")
        if arch == "monolith":
            create_schema(engine, index_level)
        with engine.begin() as conn:
            exists = conn.execute(select(Operator.id).where(Operator.username == "admin")).first()
            generated = admin_password is None and exists is None
            password = admin_password or secrets.token_urlsafe(12)
            if exists is None:
                conn.execute(Operator.__table__.insert().values(
                    username="admin", password_hash=hash_password(password), role="admin", team=None,
                    customer_quota=1000, customer_count=0))
    except DBAPIError as exc:
        raise _db_failure(db, exc) from exc
    finally:
        engine.dispose()
    typer.echo(f"schema ready at {_shown(db)} (index level {index_level})")
    if exists is not None:
        typer.echo("admin account already exists; left unchanged")
    elif generated:
        typer.echo(f"admin password (shown once): {password}")
    else:
        typer.echo("admin account created")


ArchOption = Annotated[str, typer.Option("--arch", help="monolith | microservices (three services, one "
                                                          "database each, behind a gateway on --port)")]
ARCHS = ("monolith", "microservices")


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise JxcError(f"--arch: must be one of {', '.join(ARCHS)}, not {arch!r}")


def serve(
    db: DbOption,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes (microservices: the gateway's)")] = 1,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    pool_size: Annotated[int, typer.Option(min=1, max=500, help="DB connections per worker")] = 10,
    arch: ArchOption = "monolith",
    replicas: Annotated[list[str] | None, typer.Option(help="microservices: SERVICE=N worker processes (repeatable)")] = None,
) -> None:
    """Run the reference app (uvicorn, `workers` processes) on a database prepared by init-db."""
    import uvicorn

    _check_arch(arch)
    if arch == "microservices":
        _serve_microservices(db, port=port, host=host, pool_size=pool_size, workers=workers, replicas=replicas or [])
        return
    if replicas:
        raise JxcError("--replicas: only with --arch microservices (a monolith scales with --workers)")
    engine = _engine(db)
    try:
        if not has_schema(engine):
            raise JxcError(f"--db {_shown(db)}: no jxcbench schema there; run `jxcbench init-db --db ...` first")
    except DBAPIError as exc:
        raise _db_failure(db, exc) from exc
    finally:
        engine.dispose()
    from loadgen.sut.app_server import FACTORY

    # Worker processes build the app from the environment (see reference_app.main), through the
    # launcher's factory: each worker asks for the parent-death signal, so a SIGKILLed `serve`
    # (whose process is the workers' supervisor) does not leave them serving on the port.
    os.environ["JXC_DATABASE_URL"] = db
    os.environ["JXC_POOL_SIZE"] = str(pool_size)
    uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


def _serve_microservices(db: str, *, port: int, host: str, pool_size: int, workers: int, replicas: list[str]) -> None:
    from sqlalchemy import inspect

    from reference_app.micro import run
    from reference_app.micro.topology import SERVICES, service_metadata, service_urls

    _engine(db, must_exist=False).dispose()
    for service, url in service_urls(db).items():
        engine = _engine(url)
        try:
            missing = set(service_metadata(service).tables) - set(inspect(engine).get_table_names())
        except DBAPIError as exc:
            raise _db_failure(url, exc) from exc
        finally:
            engine.dispose()
        if missing:
            raise JxcError(f"--db {_shown(url)}: the {service} service's schema is missing "
                           f"({', '.join(sorted(missing))}); run `jxcbench init-db --arch microservices --db ...` first")
    try:
        parsed = run.parse_replicas(replicas)
    except SystemExit as exc:
        raise JxcError(str(exc)) from None
    argv = ["--db", db, "--port", str(port), "--host", host, "--pool-size", str(pool_size),
            "--gateway-workers", str(workers)]
    for service in SERVICES:
        argv += ["--replicas", f"{service}={parsed.get(service, 1)}"]
    raise typer.Exit(run.main(argv))


def audit(db: DbOption, arch: ArchOption = "monolith") -> None:
    """Check the books; print every violation as JSON and exit 1 if there is any. With --arch
    microservices: each service's database, and the links between them (reference_app.micro.audit)."""
    _check_arch(arch)
    if arch == "microservices":
        _audit_microservices(db)
        return
    engine = _engine(db)
    try:
        if not has_schema(engine):
            raise JxcError(f"--db {_shown(db)}: no jxcbench schema there; run `jxcbench init-db --db ...` first")
        result = run_audit(engine)
    except DBAPIError as exc:
        raise _db_failure(db, exc) from exc
    finally:
        engine.dispose()
    typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    if not result.ok:
        raise typer.Exit(1)


def _audit_microservices(db: str) -> None:
    from reference_app.micro.audit import audit_services
    from reference_app.micro.topology import service_urls

    _engine(db, must_exist=False).dispose()
    engines = {service: _engine(url) for service, url in service_urls(db).items()}
    try:
        result = audit_services(engines)
    except DBAPIError as exc:
        raise _db_failure(db, exc) from exc
    finally:
        for engine in engines.values():
            engine.dispose()
    typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("init-db")(init_db)
    app.command("serve")(serve)
    app.command("audit")(audit)


__all__ = ["register"]
