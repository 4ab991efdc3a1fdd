-- Opening hours (öppettider) of a facility, or of one of its units (a unit without its own
-- hours inherits the facility's). The schedule is validated by the core; the database checks
-- its shape and keeps one schedule per facility or unit.
CREATE TABLE opening_hours (
    facility_id uuid NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    unit_id uuid REFERENCES facility_units (id) ON DELETE CASCADE,
    schedule jsonb NOT NULL CHECK (
        jsonb_typeof(schedule) = 'object'
        AND jsonb_typeof(schedule -> 'periods') = 'array'
        AND jsonb_typeof(schedule -> 'exceptions') = 'array'
        AND jsonb_typeof(schedule -> 'holidays') = 'object'),
    version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX opening_hours_one_per_owner
    ON opening_hours (facility_id, coalesce(unit_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- The concrete open intervals of the next 400 days, kept in step with every change and by
-- `registry hours refresh`, so search can ask "open at T" / "open during [T1, T2]" with an index.
CREATE TABLE open_intervals (
    facility_id uuid NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    unit_id uuid REFERENCES facility_units (id) ON DELETE CASCADE,
    during tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    -- Intervals of one owner never overlap: the evaluator merges them, and this proves it.
    CONSTRAINT open_intervals_disjoint EXCLUDE USING gist (
        facility_id WITH =,
        (coalesce(unit_id, '00000000-0000-0000-0000-000000000000'::uuid)) WITH =,
        during WITH &&)
);
CREATE INDEX open_intervals_during ON open_intervals USING gist (during);

-- Hours changes are logged like every other write.
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check CHECK (entity IN ('facility', 'association', 'opening_hours'));
