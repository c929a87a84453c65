"""Settings, read once from the environment.

Every variable Verdict reads is declared here, so the README table and the
docker-compose check have one list to agree with.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, Field

from shared.domain.arn import ArnScheme

# name of the environment variable -> Settings field
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "VERDICT_HOME": "home",
    "DATABASE_URL": "database_url",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
    "VERDICT_REGION": "region",
    "VERDICT_ACCOUNT_ID": "account_id",
    "VERDICT_HOST": "host",
    "VERDICT_PORT": "port",
    "VERDICT_COMMAND_PORT": "command_port",
    "VERDICT_EVALUATION_PORT": "evaluation_port",
    "VERDICT_RESULTS_PORT": "results_port",
    "VERDICT_PROCESSOR_PORT": "processor_port",
    "VERDICT_COMMAND_URL": "command_url",
    "VERDICT_EVALUATION_URL": "evaluation_url",
    "VERDICT_RESULTS_URL": "results_url",
    "VERDICT_TOPIC_PARTITIONS": "topic_partitions",
    "VERDICT_TOPIC_REPLICATION": "topic_replication",
    "VERDICT_KAFKA_SESSION_TIMEOUT_MS": "kafka_session_timeout_ms",
    "VERDICT_LOG_LEVEL": "log_level",
    "VERDICT_BUCKET_SECONDS": "bucket_seconds",
    "VERDICT_SNAPSHOT_INTERVAL": "snapshot_interval",
    "VERDICT_RESULTS_MIN_ENTITIES": "results_min_entities",
    "VERDICT_RESULTS_MIN_CONVERSIONS": "results_min_conversions",
    "VERDICT_RESULTS_MIN_SECONDS": "results_min_seconds",
    "VERDICT_TOKEN_KEY": "token_key",
    "VERDICT_PUBLISH_TIMEOUT_SECONDS": "publish_timeout_seconds",
    "VERDICT_AUTH": "auth",
    "VERDICT_MASTER_KEY": "master_key",
    "VERDICT_RATE_LIMITS": "rate_limits",
    "VERDICT_PROCESSOR_HOST": "processor_host",
    "VERDICT_KAFKA_SECURITY_PROTOCOL": "kafka_security_protocol",
    "VERDICT_KAFKA_SASL_MECHANISM": "kafka_sasl_mechanism",
    "VERDICT_KAFKA_SASL_USERNAME": "kafka_sasl_username",
    "VERDICT_KAFKA_SASL_PASSWORD": "kafka_sasl_password",
    "VERDICT_KAFKA_SSL_CAFILE": "kafka_ssl_cafile",
    "VERDICT_KAFKA_SSL_CERTFILE": "kafka_ssl_certfile",
    "VERDICT_KAFKA_SSL_KEYFILE": "kafka_ssl_keyfile",
}


class Settings(BaseModel):
    home: Path = Field(default=Path(".verdict"), description="state of the embedded servers")
    database_url: str | None = Field(
        default=None, description="Postgres URL; unset starts the embedded server"
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset starts the embedded broker"
    )
    region: str = Field(default="us-east-1", description="region used in ARNs")
    account_id: str = Field(default="000000000000", description="account id used in ARNs")
    host: str = Field(default="127.0.0.1", description="address the services bind to")
    port: int = Field(default=8080, description="the front door: the whole Evidently API")
    command_port: int = Field(default=8081, description="control plane")
    evaluation_port: int = Field(default=8082, description="data plane, lowest latency")
    results_port: int = Field(default=8083, description="GetExperimentResults")
    processor_port: int = Field(default=6066, description="processor's faust web port")
    processor_host: str = Field(
        default="127.0.0.1",
        description="address the processor's web server (health, metrics) binds to",
    )
    command_url: str | None = Field(default=None, description="front door upstream override")
    evaluation_url: str | None = Field(default=None, description="front door upstream override")
    results_url: str | None = Field(default=None, description="front door upstream override")
    topic_partitions: int = Field(default=8, description="partitions of Verdict's topics")
    topic_replication: int = Field(default=1, description="replication factor of Verdict's topics")
    kafka_session_timeout_ms: int = Field(
        default=30000, description="consumer group session timeout"
    )
    log_level: str = Field(default="INFO", description="log level of every service")
    bucket_seconds: int = Field(
        default=60,
        ge=1,
        description="time bucket of the aggregates; results roll them up into hours and"
        " days, so a results period is any number of seconds from 60 up",
    )
    results_min_entities: int = Field(
        default=100, ge=0, description="exposed entities each variation needs before results"
    )
    results_min_conversions: int = Field(
        default=25,
        ge=0,
        description="conversions each variation needs before a binary metric's results",
    )
    results_min_seconds: int = Field(
        default=600, ge=0, description="seconds an experiment runs before results"
    )
    snapshot_interval: float = Field(
        default=1.0, gt=0, description="seconds between the processor's aggregate snapshots"
    )

    token_key: str | None = Field(
        default=None,
        description="HMAC key of pagination tokens; unset derives one from DATABASE_URL",
    )
    publish_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="longest PutProjectEvents waits for the broker before failing events",
    )
    auth: bool = Field(
        default=True,
        description="check SigV4 signatures against Verdict's access keys; off only for"
        " local development (every service then says so in its log and /readyz)",
    )
    kafka_security_protocol: str = Field(
        default="PLAINTEXT",
        pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$",
        description="how Verdict's Kafka clients talk to an external broker",
    )
    kafka_sasl_mechanism: str | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with SASL_*"
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user")
    kafka_sasl_password: str | None = Field(default=None, description="SASL password")
    kafka_ssl_cafile: str | None = Field(default=None, description="CA bundle for SSL/SASL_SSL")
    kafka_ssl_certfile: str | None = Field(default=None, description="client certificate")
    kafka_ssl_keyfile: str | None = Field(default=None, description="client certificate's key")
    rate_limits: str | None = Field(
        default=None,
        description="per-key request rates (README, Security): unset keeps Evidently's"
        " quotas, 'off' turns them off, or e.g. 'EvaluateFeature=2000,Write=off'",
    )
    master_key: str | None = Field(
        default=None,
        description="base64 of the 32-byte key sealing access-key secrets; unset reads (or"
        " creates) master.key under VERDICT_HOME",
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {field: env[var] for var, field in ENVIRONMENT_VARIABLES.items() if env.get(var)}
        return cls.model_validate(values)

    def to_env(self) -> dict[str, str]:
        """The environment that gives another process these settings (unset ones omitted)."""
        env = {}
        for variable, name in ENVIRONMENT_VARIABLES.items():
            value = getattr(self, name)
            if value is not None:
                env[variable] = str(value)
        return env

    def arns(self) -> ArnScheme:
        return ArnScheme(self.region, self.account_id)

    def pagination_key(self) -> bytes:
        """Every command replica sharing a database signs and opens the same tokens."""
        secret = self.token_key or f"verdict-pagination:{self.database_url or ''}"
        return hashlib.sha256(secret.encode()).digest()

    def upstream(self, service: str) -> str:
        override = {
            "command": self.command_url,
            "evaluation": self.evaluation_url,
            "results": self.results_url,
        }[service]
        if override:
            return override.rstrip("/")
        port = {
            "command": self.command_port,
            "evaluation": self.evaluation_port,
            "results": self.results_port,
        }[service]
        return f"http://{self.host}:{port}"
