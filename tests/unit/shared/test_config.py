"""Settings: one list of variables, read once; another process gets the same settings."""

from __future__ import annotations

from pathlib import Path

from shared.config import ENVIRONMENT_VARIABLES, Settings


def test_the_environment_round_trips_every_setting() -> None:
    settings = Settings(
        home=Path("/var/verdict"),
        database_url="postgresql://db/verdict",
        kafka_bootstrap_servers="k1:9092,k2:9092",
        region="eu-west-1",
        account_id="123456789012",
        port=9000,
        topic_partitions=3,
        topic_replication=2,
        bucket_seconds=60,
        snapshot_interval=0.5,
        results_min_entities=7,
        token_key="secret",
        evaluation_url="http://evaluation:1",
    )
    assert Settings.from_env(settings.to_env()) == settings


def test_every_field_has_its_variable() -> None:
    assert set(ENVIRONMENT_VARIABLES.values()) == set(Settings.model_fields)
