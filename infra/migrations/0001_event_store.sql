-- The append-only event store. position is the gap-free global order the
-- feed follows; (stream_id, stream_version) is the optimistic concurrency check.
CREATE TABLE events (
    position        BIGSERIAL PRIMARY KEY,
    stream_id       TEXT        NOT NULL,
    stream_version  INTEGER     NOT NULL CHECK (stream_version >= 1),
    event_type      TEXT        NOT NULL,
    schema_version  INTEGER     NOT NULL DEFAULT 1,
    payload         JSONB       NOT NULL,
    metadata        JSONB       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_stream ON events (stream_id, stream_version);
