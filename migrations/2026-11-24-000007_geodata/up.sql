-- Coordinate provenance (issue 7): where each facility's location came from. A manual write of
-- the location makes it 'manual' again and clears what the sync recorded; `location_locked`
-- keeps geodata-sync's hands off a location an editor has checked on site.
ALTER TABLE facilities
    ADD COLUMN location_source text NOT NULL DEFAULT 'manual' CHECK (location_source IN ('manual', 'geodata')),
    ADD COLUMN location_locked boolean NOT NULL DEFAULT false,
    ADD COLUMN location_feature_id text CHECK (length(location_feature_id) BETWEEN 1 AND 200),
    ADD COLUMN location_match text CHECK (location_match IN ('exact', 'normalised')),
    ADD COLUMN location_synced_at timestamptz,
    ADD COLUMN location_moved_m double precision CHECK (location_moved_m >= 0),
    ADD CONSTRAINT location_provenance_complete CHECK (
        (location_source = 'manual' AND location_feature_id IS NULL AND location_match IS NULL
            AND location_synced_at IS NULL AND location_moved_m IS NULL)
        OR (location_source = 'geodata' AND location IS NOT NULL AND location_feature_id IS NOT NULL
            AND location_match IS NOT NULL AND location_synced_at IS NOT NULL AND location_moved_m IS NOT NULL));

-- Municipality boundaries from the national boundaries service (`geodata-sync boundaries`).
-- `boundary_tm` is the same shape in SWEREF 99 TM, for fast metric distance checks with an index.
CREATE TABLE municipality_boundaries (
    municipality_code text PRIMARY KEY REFERENCES municipalities (code),
    boundary geography(MultiPolygon, 4326) NOT NULL,
    boundary_tm geometry(MultiPolygon, 3006) GENERATED ALWAYS AS (ST_Transform(boundary::geometry, 3006)) STORED,
    source text NOT NULL CHECK (length(source) BETWEEN 1 AND 500),
    source_feature_id text NOT NULL CHECK (length(source_feature_id) BETWEEN 1 AND 200),
    synced_at timestamptz NOT NULL,
    CONSTRAINT boundary_valid CHECK (ST_IsValid(boundary::geometry))
);
CREATE INDEX municipality_boundaries_tm ON municipality_boundaries USING gist (boundary_tm);

-- Checkpoints of geodata-sync runs: one row per facility processed, written in the same
-- transaction as the facility's new location, so an interrupted run resumes where it stopped
-- and processes every facility exactly once.
CREATE TABLE geodata_sync_runs (
    id uuid PRIMARY KEY,
    scope text NOT NULL,
    actor text NOT NULL CHECK (actor <> ''),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX geodata_sync_runs_one_open ON geodata_sync_runs (scope) WHERE finished_at IS NULL;

CREATE TABLE geodata_sync_outcomes (
    run_id uuid NOT NULL REFERENCES geodata_sync_runs (id) ON DELETE CASCADE,
    facility_id uuid NOT NULL,
    outcome text NOT NULL CHECK (outcome IN (
        'filled', 'moved', 'unchanged', 'not_found', 'ambiguous', 'locked_disagreeing', 'locked_agreeing', 'error')),
    detail jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, facility_id)
);
