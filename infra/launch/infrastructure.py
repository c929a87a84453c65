"""Postgres and Kafka for Verdict: the given servers, containers, or embedded ones.

- ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` set: use them as they are.
- ``containers=True`` and a Docker engine answers: testcontainers.
- Otherwise: the embedded PostgreSQL wheel and the embedded Apache Kafka broker.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.config import Settings

if TYPE_CHECKING:
    from infra.launch.kafka import EmbeddedKafka
    from infra.launch.postgres import EmbeddedPostgres

log = logging.getLogger(__name__)


@dataclass
class Infrastructure:
    database_url: str
    kafka_bootstrap_servers: str
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    # The embedded servers, when this started them: tests stop and start them.
    postgres: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | None = None

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:  # one failed stop must not leave the others running
                log.exception("stopping infrastructure failed")
        self.stoppers.clear()


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def provide(
    settings: Settings,
    *,
    containers: bool = False,
    home: Path | None = None,
    jars: Path | None = None,
) -> Infrastructure:
    home = (home or settings.home).resolve()
    jars = (jars or settings.home / "kafka-jars").resolve()
    use_containers = containers and docker_available()
    infra = Infrastructure("", "")
    try:
        if settings.database_url:
            infra.database_url = settings.database_url
            infra.kinds["postgres"] = "given"
        elif use_containers:
            from testcontainers.postgres import PostgresContainer

            pg = PostgresContainer("postgres:16", driver=None)
            pg.start()
            infra.stoppers.append(pg.stop)
            infra.database_url = pg.get_connection_url()
            infra.kinds["postgres"] = "testcontainers"
        else:
            from infra.launch.postgres import start_postgres

            server = start_postgres(home / "postgres")
            infra.stoppers.append(server.stop)
            infra.database_url = server.url
            infra.kinds["postgres"] = "embedded"
            infra.postgres = server

        if settings.kafka_bootstrap_servers:
            infra.kafka_bootstrap_servers = settings.kafka_bootstrap_servers
            infra.kinds["kafka"] = "given"
        elif use_containers:
            from testcontainers.kafka import KafkaContainer

            kafka = KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft()
            kafka.start()
            infra.stoppers.append(kafka.stop)
            infra.kafka_bootstrap_servers = kafka.get_bootstrap_server()
            infra.kinds["kafka"] = "testcontainers"
        else:
            from infra.launch.kafka import start_kafka

            broker = start_kafka(home / "kafka", jars, partitions=settings.topic_partitions)
            infra.stoppers.append(broker.stop)
            infra.kafka_bootstrap_servers = broker.bootstrap_servers
            infra.kafka = broker
            infra.kinds["kafka"] = "embedded"
    except BaseException:
        infra.stop()
        raise
    return infra
