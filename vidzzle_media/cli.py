"""Command line: ``vidzzle-media serve | create-support | ...``.

Each command imports what it runs inside its function: the whole server
(aiortc, the SFU) takes about 1.5 s to import, the command line alone 0.2 s,
so ``--version``, ``backup`` and the PDF probe subprocess start at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, Settings, is_postgres_url, load_settings
from .errors import AppError
from .logs import configure_logging

log = logging.getLogger("vidzzle_media")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (see docs/configuration.md)")
    parser.add_argument("--data-dir", metavar="DIR", help="data folder (database, uploads); default ./data")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidzzle-media", description="Self-hosted video calls: server and administration.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="run the server (HTTPS, back office, signalling, SFU)",
                           description="Run the server with the embedded defaults (SQLite, self-signed certificate).")
    _common(serve)
    serve.add_argument("--host", help="listen address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default 8443; 0: a free port, printed at start)")
    support = sub.add_parser("create-support", help="create the first support account and print its set-password link",
                             description="Create a support account (locked until its password is set) and print a one-time URL to set the password.")
    support.add_argument("email", metavar="EMAIL")
    _common(support)
    backup = sub.add_parser("backup", help="copy the database to FILE while the server runs",
                            description="Online backup of the SQLite database (consistent while the server runs). "
                                        "Restore: stop the server and copy FILE to the database path.")
    backup.add_argument("file", metavar="FILE")
    _common(backup)
    move = sub.add_parser("migrate-to-postgres", help="copy an SQLite install's data into an empty PostgreSQL database",
                          description="Copy every row of SQLITE_FILE into the empty PostgreSQL database at URL "
                                      "(postgresql://USER:PASSWORD@HOST:5432/DB), in one transaction: all or "
                                      "nothing. Stop the server first; afterwards set database.url = URL (and copy "
                                      "the data folder's presentations along). The SQLite file is left as it was.")
    move.add_argument("sqlite_file", metavar="SQLITE_FILE")
    move.add_argument("url", metavar="URL")
    _common(move)
    doctor = sub.add_parser("doctor", help="check that the install is reachable and complete (exit 1 if a check fails)",
                            description="Check the install from outside in: public address, certificate, ports, "
                                        "media address, TURN, SMTP, SMS gateway, clock, data folder. One line per "
                                        "check; exit code 1 when any check fails (for monitoring).")
    _common(doctor)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "server.data_dir": getattr(args, "data_dir", None),
        "server.host": getattr(args, "host", None),
        "server.port": getattr(args, "port", None),
    }
    return load_settings(args.config, overrides=overrides)


def program() -> str:
    """How the operator started us, to print a command they can paste."""
    if getattr(sys, "frozen", False):       # the one-file binary
        return shlex.quote(sys.executable)
    if Path(sys.argv[0]).name == "__main__.py":
        return "python3 -m vidzzle_media"
    return "vidzzle-media"


def first_run_hint(args: argparse.Namespace, settings: Settings) -> str:
    """The one command that creates the first account, for this very data folder (and settings file)."""
    command = [program(), "create-support", "YOUR-EMAIL", "--data-dir", shlex.quote(str(settings.data_path.resolve()))]
    if args.config:
        command += ["--config", shlex.quote(str(Path(args.config).resolve()))]
    return ("No account exists yet. Create the first (support) account with\n    " + " ".join(command)
            + "\nand open the link it prints to set its password.")


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .app import create_app
    from .keys import DATABASE, LISTENING, RELAY, TLS
    from .listening import Listening
    from .memory import limit_malloc_arenas
    from .services.accounts.users import nobody_can_log_in
    from .serving import run

    limit_malloc_arenas()           # before the app starts its threads (memory.py says why)
    app = create_app(settings)      # ConfigError (exit 2) when the certificate cannot be read
    context = app.get(TLS)
    relay = app.get(RELAY)
    shared = relay is not None and settings.relay.port == 0

    saved: list[bool] = []      # only a server that recorded its origin removes it (not one that failed to bind)

    async def listening(port: int) -> None:
        served = app[LISTENING]
        served.port = port
        served.save(settings.data_path)
        saved.append(True)
        print(f"Vidzzle Media {__version__} is serving on {served.origin}", file=sys.stderr)
        if await nobody_can_log_in(app[DATABASE]):
            print(first_run_hint(args, settings), file=sys.stderr)

    try:
        run(app, settings.server.host, settings.server.port, context, relay.protocol if relay is not None and shared else None,
            listening)
    except OSError as exc:
        print(f"vidzzle-media: cannot listen on {settings.server.host or '0.0.0.0'}:{settings.server.port}: "
              f"{os.strerror(exc.errno) if exc.errno else exc}. Is another server running there? Choose another with --port.",
              file=sys.stderr)
        return 2
    finally:
        if saved:
            Listening.remove(settings.data_path)
    return 0


def run_create_support(args: argparse.Namespace, settings: Settings) -> int:
    from .listening import running_origin
    from .services.accounts.links import create_support_account
    from .store import database_for

    async def go() -> str:
        db = database_for(settings.database.url, settings.database_path, settings.data_path,
                          settings.database.busy_timeout_ms)
        await db.open()
        try:
            return await create_support_account(db, settings, args.email, base=running_origin(settings.data_path))
        finally:
            await db.close()

    url = asyncio.run(go())
    print(f"Support account {args.email} created. Open this link once to set its password:\n{url}")
    if not settings.server.public_url:
        print("(The link points to this machine; set server.public_url to the address others use.)")
    return 0


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from .store.backup import backup_database

    if settings.database.url:
        print("vidzzle-media: the store is PostgreSQL (database.url): back it up with pg_dump, e.g. "
              "pg_dump --format=custom --file=FILE DB (docs/deployment.md, 'Backup and restore')", file=sys.stderr)
        return 2

    size = backup_database(settings.database_path, args.file)
    print(f"Backed up {settings.database_path} to {args.file} ({size} bytes).")
    return 0


def run_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from .doctor import failed, run_checks
    from .store import database_for

    async def go():
        if not settings.database.url and not settings.database_path.exists():
            return await run_checks(settings)
        db = database_for(settings.database.url, settings.database_path, settings.data_path,
                          settings.database.busy_timeout_ms)
        await db.open()
        try:
            return await run_checks(settings, db)
        finally:
            await db.close()

    findings = asyncio.run(go())
    for finding in findings:
        print(finding.line())
    return 1 if failed(findings) else 0


def run_migrate_to_postgres(args: argparse.Namespace, settings: Settings) -> int:
    from .store.transfer import Copied, TransferError, transfer

    if not is_postgres_url(args.url):
        print("vidzzle-media: URL must start with postgresql://", file=sys.stderr)
        return 2

    def shown(copied: Copied) -> None:
        print(f"  {copied.table}: {copied.rows} rows", flush=True)

    print(f"Copying {args.sqlite_file} to PostgreSQL ...", flush=True)
    try:
        copied = asyncio.run(transfer(args.sqlite_file, args.url, progress=shown))
    except TransferError as exc:
        print(f"vidzzle-media: {exc}; nothing was copied", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"vidzzle-media: cannot reach PostgreSQL: {exc}; nothing was copied", file=sys.stderr)
        return 1
    except Exception as exc:
        if not type(exc).__module__.startswith("asyncpg"):
            raise
        print(f"vidzzle-media: PostgreSQL refused: {exc}; nothing was copied", file=sys.stderr)
        return 1
    print(f"Done: {sum(c.rows for c in copied)} rows in {len(copied)} tables. "
          "Set database.url to this URL and start the server.")
    return 0


RUNNERS = {"serve": run_serve, "create-support": run_create_support, "backup": run_backup, "doctor": run_doctor,
           "migrate-to-postgres": run_migrate_to_postgres}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe-pdf"]:   # internal, not in --help: the bounded PDF check's child process
        from .services.branding import pdf_probe

        return pdf_probe.main(argv[1:])
    if argv[:1] == ["media-worker"]:   # internal: a media worker process (server.media_workers)
        from .workers import worker

        return worker.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        print(f"vidzzle-media: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.server.log_level, settings.server.log_json)
    try:
        return RUNNERS[args.command](args, settings)
    except ConfigError as exc:
        print(f"vidzzle-media: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"vidzzle-media: {exc}", file=sys.stderr)
        return 1
    except AppError as exc:
        print(f"vidzzle-media: {exc.message}", file=sys.stderr)
        return 1
