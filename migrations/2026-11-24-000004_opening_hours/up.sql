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

-- The concrete open intervals of the next 400 days, one multirange per facility or unit, kept
-- in step with every change and by `registry hours refresh`, so search can ask "open at T"
-- (`during @> T`) or "open during [T1, T2]" (`during @> tstzrange(T1, T2)` for all of it,
-- `during && …` for some of it) with an index. One row per owner instead of one per interval
-- keeps the national table at a few hundred thousand rows.
CREATE TABLE open_intervals (
    facility_id uuid NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    unit_id uuid REFERENCES facility_units (id) ON DELETE CASCADE,
    during tstzmultirange NOT NULL CHECK (NOT isempty(during)),
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL CHECK (window_end > window_start)
);
CREATE UNIQUE INDEX open_intervals_one_per_owner
    ON open_intervals (facility_id, coalesce(unit_id, '00000000-0000-0000-0000-000000000000'::uuid));
CREATE INDEX open_intervals_during ON open_intervals USING gist (during);

-- Hours changes are logged like every other write.
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check CHECK (entity IN ('facility', 'association', 'opening_hours'));
