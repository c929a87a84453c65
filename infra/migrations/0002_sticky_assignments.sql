-- Sticky experiment assignments: once an entity has a treatment it keeps it.
-- experiment_key names one incarnation of an experiment (project/name@created),
-- so a re-created experiment starts afresh.
CREATE TABLE sticky_assignments (
    experiment_key  TEXT        NOT NULL,
    entity_id       TEXT        NOT NULL,
    treatment       TEXT        NOT NULL,
    assigned_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_key, entity_id)
);
