"""A real Apache Kafka 3.9 broker in KRaft mode, one node, on the JVM.

The jars come from Maven Central through ``mvn dependency:copy-dependencies``
on ``infra/kafka/pom.xml`` and are cached under the Verdict home. The log
directory lives there too, so topics and consumer offsets survive a restart.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from infra.launch.ports import remembered_port, wait_for_port

log = logging.getLogger(__name__)

POM = Path(__file__).resolve().parent.parent / "kafka" / "pom.xml"

LOG4J = """\
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""


def server_properties(port: int, controller_port: int, log_dir: Path, partitions: int) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            # Loopback only, controller too: the plaintext port takes any producer, so
            # only this host may reach it (README, Security: SASL or TLS on a broker of
            # one's own).
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={log_dir}",
            f"num.partitions={partitions}",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=8",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "min.insync.replicas=1",
            "default.replication.factor=1",
            # A lone consumer should not wait 3 s for company before it gets partitions.
            "group.initial.rebalance.delay.ms=0",
            "group.min.session.timeout.ms=1000",
            # Every topic is created on purpose, with its partition count (a metadata
            # request for a missing topic must not invent one with the default).
            "auto.create.topics.enable=false",
            "",
        ]
    )


def ensure_jars(cache: Path) -> Path:
    libs = cache / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the Kafka broker; `make` installs it")
    libs.mkdir(parents=True, exist_ok=True)
    log.info("fetching Apache Kafka jars from Maven Central into %s", libs)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        check=True,
        timeout=600,
    )
    marker.touch()
    return libs


def new_cluster_id() -> str:
    """A KRaft cluster id; never starting with "-", which the storage tool reads as an option
    (Kafka's own Uuid.randomUuid avoids it for the same reason)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class EmbeddedKafka:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("Java 17 is needed to run the Kafka broker; `make` installs it")
    return java


def start_kafka(
    root: Path, jars: Path, partitions: int = 8, timeout: float = 90.0
) -> EmbeddedKafka:
    """Start a broker whose state lives under ``root``, its jars cached in ``jars``."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    libs = ensure_jars(jars.resolve())
    classpath = f"{libs}/*"
    log_dir = root / "log"
    port = remembered_port(root / "port")
    controller_port = remembered_port(root / "controller-port")
    properties = root / "server.properties"
    properties.write_text(server_properties(port, controller_port, log_dir, partitions))
    log4j = root / "log4j.properties"
    log4j.write_text(LOG4J.format(log=root / "server.log"))
    java = _java()
    if not (log_dir / "meta.properties").exists():
        cluster_id = new_cluster_id()
        subprocess.run(
            [
                java,
                "-cp",
                classpath,
                f"-Dlog4j.configuration=file:{log4j}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(properties),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    started = time.monotonic()
    # The broker gets its own copy of the log's descriptor; ours closes once it started.
    with open(root / "stdout.log", "ab") as stdout:
        process = _start_broker(java, log4j, classpath, properties, stdout)
    kafka = EmbeddedKafka(root, port, process)
    try:
        asyncio.run(_wait_for_metadata(kafka, timeout))
    except BaseException:
        kafka.kill()
        raise
    log.info("Kafka up on port %d in %.2fs", port, time.monotonic() - started)
    return kafka


async def _wait_for_metadata(kafka: EmbeddedKafka, timeout: float) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    # Polling metadata before the listener exists only fills the log with refusals.
    await asyncio.to_thread(wait_for_port, kafka.port, timeout)
    while time.monotonic() < deadline:
        if kafka.process.poll() is not None:
            raise RuntimeError(f"Kafka exited with {kafka.process.returncode}; see {kafka.root}")
        admin = AIOKafkaAdminClient(
            bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=3000
        )
        try:
            await admin.start()
            if await admin.describe_cluster():
                return
        except Exception as exc:  # the broker is still starting
            last_error = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.25)
    raise TimeoutError(f"Kafka did not answer metadata within {timeout}s: {last_error}")


def _start_broker(
    java: str, log4j: Path, classpath: str, properties: Path, stdout: IO[bytes]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            java,
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{log4j}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(properties),
        ],
        stdout=stdout,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C on `verdict up` must not reach the broker before
        # the services that use it have stopped.
        start_new_session=True,
        env={**os.environ, "KAFKA_HEAP_OPTS": ""},
    )
