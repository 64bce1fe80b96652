"""Command line: ``vidzzle-media serve | create-support | ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys


from .errors import AppError
from .config import ConfigError, Settings, load_settings
from .logs import configure_logging

log = logging.getLogger("vidzzle_media")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (see docs/configuration.md)")
    parser.add_argument("--data-dir", metavar="DIR", help="data folder (database, uploads); default ./data")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidzzle-media", description="Self-hosted video calls: server and administration.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="run the server (HTTPS, back office, signalling, SFU)",
                           description="Run the server with the embedded defaults (SQLite, self-signed certificate).")
    _common(serve)
    serve.add_argument("--host", help="listen address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default 8443)")
    support = sub.add_parser("create-support", help="create the first support account and print its set-password link",
                             description="Create a support account (locked until its password is set) and print a one-time URL to set the password.")
    support.add_argument("email", metavar="EMAIL")
    _common(support)
    backup = sub.add_parser("backup", help="copy the database to FILE while the server runs",
                            description="Online backup of the SQLite database (consistent while the server runs). "
                                        "Restore: stop the server and copy FILE to the database path.")
    backup.add_argument("file", metavar="FILE")
    _common(backup)
    # internal: the bounded PDF check runs in a child process (services/presentations.py)
    probe = sub.add_parser("probe-pdf")
    probe.add_argument("args", nargs="*")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "server.data_dir": getattr(args, "data_dir", None),
        "server.host": getattr(args, "host", None),
        "server.port": getattr(args, "port", None),
    }
    return load_settings(args.config, overrides=overrides)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .app import create_app
    from .tls import server_ssl_context

    from .keys import RELAY
    from .serving import run

    app = create_app(settings)
    context = server_ssl_context(settings.tls)
    relay = app.get(RELAY)
    shared = relay is not None and settings.relay.port == 0
    try:
        run(app, settings.server.host, settings.server.port, context, relay.protocol if shared else None)
    except OSError as exc:
        print(f"vidzzle-media: cannot listen on {settings.server.host}:{settings.server.port}: "
              f"{exc.strerror or exc}. Is another server running there? Choose another with --port.",
              file=sys.stderr)
        return 1
    return 0


def run_create_support(args: argparse.Namespace, settings: Settings) -> int:
    from .services.accounts.links import create_support_account
    from .store import Database

    async def go() -> str:
        db = Database(settings.database_path, settings.database.busy_timeout_ms)
        await db.open()
        try:
            return await create_support_account(db, settings, args.email)
        finally:
            await db.close()

    url = asyncio.run(go())
    print(f"Support account {args.email} created. Open this link once to set its password:\n{url}")
    return 0


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from .store.backup import backup_database

    size = backup_database(settings.database_path, args.file)
    print(f"Backed up {settings.database_path} to {args.file} ({size} bytes).")
    return 0


RUNNERS = {"serve": run_serve, "create-support": run_create_support, "backup": run_backup}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "probe-pdf":   # a child process: no settings, no logging set-up
        from .services.branding import pdf_probe

        return pdf_probe.main(args.args)
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
