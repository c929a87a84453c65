"""A module-level ASGI app, for servers that import one (granian in the benchmarks)."""

from services.evaluation.app import create_app
from shared.config import Settings

app = create_app(Settings.from_env())
