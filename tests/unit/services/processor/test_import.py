"""The processor's modules import without servers: faust declares at import, and the
settings are checked when the worker starts, not then."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_processor_imports_with_no_servers_configured() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    code = "import services.processor.agents, services.processor.snapshot, services.processor.web"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_serving_it_without_servers_says_what_is_missing() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    result = subprocess.run(
        [sys.executable, "-m", "infra.cli", "serve", "processor"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS" in result.stderr
