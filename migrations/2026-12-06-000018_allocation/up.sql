-- Seasonal allocation of training times (säsongsfördelning, issue 28). A round per
-- municipality and season with its units and published principles; associations' applications;
-- runs of the allocator (each immutable: preliminary runs, what-ifs, staff edits), one of them
-- published to the applicants and one registered as final; the applicants' comments.
CREATE TABLE allocation_rounds (
    id uuid PRIMARY KEY,
    municipality_code text NOT NULL REFERENCES municipalities (code),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    season_start date NOT NULL,
    season_end date NOT NULL CHECK (season_end >= season_start AND season_end <= season_start + 371),
    breaks jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(breaks) = 'array'),
    applications_open timestamptz NOT NULL,
    applications_close timestamptz NOT NULL CHECK (applications_close > applications_open),
    grid_minutes smallint NOT NULL DEFAULT 30 CHECK (grid_minutes IN (15, 30, 60)),
    units jsonb NOT NULL CHECK (jsonb_typeof(units) = 'array'),
    principles jsonb NOT NULL CHECK (jsonb_typeof(principles) = 'object'),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'preliminary', 'final')),
    published_run uuid,
    final_run uuid,
    CHECK (status <> 'final' OR final_run IS NOT NULL),
    CHECK (status <> 'preliminary' OR published_run IS NOT NULL),
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_rounds_municipality ON allocation_rounds (municipality_code, season_start DESC);

CREATE TABLE allocation_applications (
    id uuid PRIMARY KEY,
    round_id uuid NOT NULL REFERENCES allocation_rounds (id) ON DELETE CASCADE,
    association_id uuid NOT NULL REFERENCES associations (id),
    team jsonb NOT NULL CHECK (jsonb_typeof(team) = 'object'),
    wishes jsonb NOT NULL CHECK (jsonb_typeof(wishes) = 'array'),
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'withdrawn')),
    -- The principal who sent it (a person's audit id, never their number).
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_applications_round ON allocation_applications (round_id, submitted_at, id);
CREATE INDEX allocation_applications_association ON allocation_applications (association_id);

CREATE TABLE allocation_runs (
    id uuid PRIMARY KEY,
    round_id uuid NOT NULL REFERENCES allocation_rounds (id) ON DELETE CASCADE,
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    base_run uuid REFERENCES allocation_runs (id),
    principles jsonb NOT NULL,
    -- Sessions kept where they were: [{applicationId, wish, session, slot}].
    locks jsonb NOT NULL DEFAULT '[]',
    figures jsonb NOT NULL,
    decisions jsonb NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_runs_round ON allocation_runs (round_id, created_at DESC);

ALTER TABLE allocation_rounds ADD FOREIGN KEY (published_run) REFERENCES allocation_runs (id);
ALTER TABLE allocation_rounds ADD FOREIGN KEY (final_run) REFERENCES allocation_runs (id);

CREATE TABLE allocation_comments (
    id uuid PRIMARY KEY,
    round_id uuid NOT NULL REFERENCES allocation_rounds (id) ON DELETE CASCADE,
    application_id uuid NOT NULL REFERENCES allocation_applications (id) ON DELETE CASCADE,
    run_id uuid NOT NULL REFERENCES allocation_runs (id),
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    author text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_comments_round ON allocation_comments (round_id, created_at);

-- The final allocation booked at the vendors: one row per placed weekly session, written when
-- the final allocation is registered (an outbox), booked as a weekly series (vendor.v1.1
-- CreateSeries) by a worker, at least once, with a per-occurrence report kept. Conflicts go
-- back to staff, who may ask for them to be booked again.
CREATE TABLE allocation_series (
    round_id uuid NOT NULL REFERENCES allocation_rounds (id) ON DELETE CASCADE,
    application_id uuid NOT NULL REFERENCES allocation_applications (id) ON DELETE CASCADE,
    wish smallint NOT NULL CHECK (wish >= 0),
    session smallint NOT NULL CHECK (session >= 0),
    unit_id uuid NOT NULL,
    day smallint NOT NULL CHECK (day BETWEEN 1 AND 7),
    start_time text NOT NULL CHECK (start_time ~ '^[0-2][0-9]:[0-5][0-9]$'),
    end_time text NOT NULL CHECK (end_time ~ '^[0-2][0-9]:[0-5][0-9]$'),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'booked', 'conflict', 'not_bookable')),
    vendor_id uuid,
    series_id text,
    report jsonb,
    message text,
    attempts integer NOT NULL DEFAULT 0,
    next_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, application_id, wish, session)
);
CREATE INDEX allocation_series_due ON allocation_series (next_at) WHERE status = 'pending';

ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check
    CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor', 'allocation_round', 'allocation_application'));
