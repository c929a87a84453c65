"""The embedded Kafka launcher's pure parts."""

from __future__ import annotations

from pathlib import Path

from infra.launch.kafka import new_cluster_id, server_properties


def test_kraft_cluster_ids_never_start_with_a_dash() -> None:
    ids = [new_cluster_id() for _ in range(5000)]
    assert all(not i.startswith("-") and len(i) == 22 for i in ids)


def test_server_properties_for_one_kraft_node() -> None:
    props = dict(
        line.split("=", 1)
        for line in server_properties(9092, 9093, Path("/data"), 8).splitlines()
        if line and not line.startswith("#")
    )
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == "/data"


def test_every_listener_is_on_loopback() -> None:
    """The broker's plaintext port takes any producer: only this host may reach it."""
    props = dict(
        line.split("=", 1)
        for line in server_properties(9092, 9093, Path("/data"), 8).splitlines()
        if line and not line.startswith("#")
    )
    for key in ("listeners", "advertised.listeners"):
        for listener in props[key].split(","):
            assert listener.split("://", 1)[1].rsplit(":", 1)[0] == "127.0.0.1", listener
    assert props["controller.quorum.voters"].split("@", 1)[1].startswith("127.0.0.1:")
