"""`verdict`: one console entry point.

verdict up                 infrastructure + all four services + front door, supervised
verdict infra              only Postgres and Kafka (embedded unless given)
verdict serve SERVICE      one service, pointed at DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
verdict migrate            apply the SQL migrations
verdict keys create|list|revoke   access keys (SigV4), scoped admin | read | data
verdict quarantine list    what the processor set aside, and why
verdict quarantine replay  write set-aside records back to their topics
verdict nginx-conf         render the front door's routing table for nginx
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from shared.config import Settings

SERVICES = ("command", "evaluation", "results", "processor", "frontdoor")


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def cmd_up(settings: Settings) -> int:
    from infra.launch.infrastructure import provide
    from infra.launch.stack import Stack

    infrastructure = provide(settings)
    stack = Stack(settings, infrastructure, settings.home.resolve() / "logs")
    try:
        asyncio.run(
            _prepare(infrastructure.database_url, infrastructure.kafka_bootstrap_servers, settings)
        )
        _first_admin_key(infrastructure.database_url, settings)
        stack.start()
        # From here a service that exits is restarted; Ctrl-C stops supervision first.
        stack.supervise()
        print(f"Verdict is up ({infrastructure.kinds})")
        print(f"  front door (whole Evidently API): {stack.url('frontdoor')}")
        for name in ("command", "evaluation", "results", "processor"):
            print(f"  {name:<11} {stack.url(name)}")
        print(f"  DATABASE_URL={_masked(infrastructure.database_url)}")
        print(f"  KAFKA_BOOTSTRAP_SERVERS={infrastructure.kafka_bootstrap_servers}")
        print("Ctrl-C stops everything.", flush=True)
        _wait_for_signal()
        print("stopping...", flush=True)
    finally:
        stack.stop()
        infrastructure.stop()
    print("stopped", flush=True)
    return 0


def _masked(url: str) -> str:
    """A URL as it may be printed: the password, if any, replaced by stars."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_admin_key(database_url: str, settings: Settings) -> None:
    """On a first start with checking on, an admin key: shown once, kept in a file only
    its owner can read."""
    from infra import keys

    if not settings.auth:
        print("WARNING: VERDICT_AUTH=off: every request is accepted unsigned.", flush=True)
        return
    created = asyncio.run(keys.ensure_admin(database_url, settings))
    if created is None:
        return
    path = settings.home.resolve() / keys.ADMIN_CREDENTIALS
    keys.write_credentials(path, created, settings.region)
    print("Created the first admin access key (shown once; also in a file only you can read):")
    print(f"  aws_access_key_id     = {created.key_id}")
    print(f"  aws_secret_access_key = {created.secret}")
    print(f"  AWS_SHARED_CREDENTIALS_FILE={path} AWS_PROFILE=verdict", flush=True)


def cmd_keys(
    settings: Settings,
    action: str,
    scope: str,
    projects: list[str],
    description: str | None,
    key_id: str | None,
) -> int:
    from infra import keys
    from shared.domain.access import Scope

    url = settings.database_url
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    if action == "create":
        created = asyncio.run(keys.create(url, settings, Scope(scope), projects, description))
        print(
            json.dumps(
                {
                    "keyId": created.key_id,
                    "secret": created.secret,
                    "scope": scope,
                    "projects": list(created.projects),
                }
            )
        )
        return 0
    if action == "list":
        for key in asyncio.run(keys.listing(url, settings)):
            print(
                json.dumps(
                    {
                        "keyId": key.key_id,
                        "scope": key.scope.value,
                        "projects": list(key.projects),
                        "description": key.description,
                        "created": key.created_at.isoformat(),
                        "revoked": key.revoked_at.isoformat() if key.revoked_at else None,
                    }
                )
            )
        return 0
    if not key_id:
        raise SystemExit("verdict keys revoke KEY_ID")
    revoked = asyncio.run(keys.revoke(url, settings, key_id))
    print(json.dumps({"keyId": revoked.key_id, "revoked": str(revoked.revoked_at)}))
    return 0


async def _prepare(database_url: str, bootstrap: str, settings: Settings) -> None:
    from shared import topics
    from shared.migrations import migrate

    await migrate(database_url)
    await topics.ensure_topics(
        bootstrap, topics.verdict_topics(settings.topic_partitions, settings.topic_replication)
    )


def cmd_infra(settings: Settings) -> int:
    from infra.launch.infrastructure import provide

    infrastructure = provide(settings)
    try:
        print(f"export DATABASE_URL={infrastructure.database_url}")
        print(
            f"export KAFKA_BOOTSTRAP_SERVERS={infrastructure.kafka_bootstrap_servers}", flush=True
        )
        _wait_for_signal()
    finally:
        infrastructure.stop()
    return 0


def cmd_serve(settings: Settings, service: str) -> int:
    if service == "processor":
        if not settings.database_url or not settings.kafka_bootstrap_servers:
            raise SystemExit("the processor needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")
        import faust

        from services.processor import agents, snapshot, web  # noqa: F401 - registers them
        from services.processor.app import app

        worker = faust.Worker(app, loglevel=settings.log_level.lower())
        worker.execute_from_commandline()
        return 0
    import uvicorn

    if service == "frontdoor":
        from infra.frontdoor import create_app as frontdoor_app

        asgi: object = frontdoor_app(settings)
        port = settings.port
    elif service == "command":
        from services.command.app import create_app as command_app

        asgi, port = command_app(settings), settings.command_port
    elif service == "evaluation":
        from services.evaluation.app import create_app as evaluation_app

        asgi, port = evaluation_app(settings), settings.evaluation_port
    elif service == "results":
        from services.results.app import create_app as results_app

        asgi, port = results_app(settings), settings.results_port
    else:
        raise SystemExit(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    uvicorn.run(
        asgi,  # type: ignore[arg-type]
        host=settings.host,
        port=port,
        http="httptools",
        loop="uvloop",
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0


def cmd_migrate(settings: Settings) -> int:
    from shared.migrations import migrate

    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    applied = asyncio.run(migrate(settings.database_url))
    print("applied:", ", ".join(applied) or "nothing new")
    return 0


def cmd_nginx_conf(settings: Settings, output: Path | None) -> int:
    from shared.edge.routing import nginx_conf

    text = nginx_conf(
        {"command": "command:8081", "evaluation": "evaluation:8082", "results": "results:8083"}
    )
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
    return 0


def cmd_quarantine(settings: Settings, action: str, offsets: list[int], since: int) -> int:
    from infra import quarantine

    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise SystemExit("KAFKA_BOOTSTRAP_SERVERS is not set")
    if action == "list":

        async def listing() -> None:
            async for item in quarantine.read(bootstrap, since):
                print(json.dumps(item.summary()), flush=True)

        asyncio.run(listing())
        return 0
    chosen = set(offsets) if offsets else None
    replayed = asyncio.run(quarantine.replay(bootstrap, chosen, since))
    print(f"replayed {replayed} record(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verdict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start infrastructure, the four services and the front door")
    sub.add_parser("infra", help="start only Postgres and Kafka")
    serve = sub.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument(
        "--restarts",
        type=int,
        default=0,
        help="restarts of this service before this one (set by `verdict up`'s supervisor)",
    )
    sub.add_parser("migrate", help="apply SQL migrations to DATABASE_URL")
    keyring = sub.add_parser("keys", help="create, list or revoke access keys")
    keyring.add_argument("action", choices=("create", "list", "revoke"))
    keyring.add_argument("key_id", nargs="?", help="the key to revoke")
    keyring.add_argument("--scope", choices=("admin", "read", "data"), default="data")
    keyring.add_argument(
        "--project", action="append", default=[], help="limit the key to this project"
    )
    keyring.add_argument("--description")
    held = sub.add_parser("quarantine", help="list or replay what the processor set aside")
    held.add_argument("action", choices=("list", "replay"))
    held.add_argument(
        "--offset", type=int, action="append", default=[], help="replay only these records"
    )
    held.add_argument("--since", type=int, default=0, help="start at this offset")
    nginx = sub.add_parser("nginx-conf", help="render the routing table as nginx.conf")
    nginx.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    _logging(settings.log_level)
    if args.command == "up":
        return cmd_up(settings)
    if args.command == "infra":
        return cmd_infra(settings)
    if args.command == "serve":
        from shared.observability import SERVICE_RESTARTS, configure_logging

        configure_logging(args.service, settings.log_level)
        # Exported from the start, at 0 too, so a first restart shows as an increase.
        SERVICE_RESTARTS.labels(args.service).inc(args.restarts)
        return cmd_serve(settings, args.service)
    if args.command == "migrate":
        return cmd_migrate(settings)
    if args.command == "keys":
        return cmd_keys(
            settings, args.action, args.scope, args.project, args.description, args.key_id
        )
    if args.command == "quarantine":
        return cmd_quarantine(settings, args.action, args.offset, args.since)
    return cmd_nginx_conf(settings, args.output)


if __name__ == "__main__":
    sys.exit(main())
