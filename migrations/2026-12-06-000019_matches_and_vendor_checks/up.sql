-- Seasonal allocation, second part (issue 28): match times allocated later in the season
-- (matchtider, "Fördela matchtider"), and the bookings at the units' vendors read before a run.

-- A run is of the weekly training times or of the match times; each keeps what the vendors
-- said was booked when it ran (per unit: whether asked, and the booked times), so a run can
-- always be explained as it was made.
ALTER TABLE allocation_runs
    ADD COLUMN kind text NOT NULL DEFAULT 'training' CHECK (kind IN ('training', 'matches')),
    ADD COLUMN vendor_checks jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(vendor_checks) = 'array');

-- An association's request for a match time: one match, its length and ranked alternatives
-- (a date, a window, units). Requested any time in the season; staff allocate the requests in
-- match runs around the final weekly allocation, the vendors' bookings and the matches already
-- decided, and register a run's placements (allocated, booked at the vendor as one occasion).
CREATE TABLE allocation_matches (
    id uuid PRIMARY KEY,
    round_id uuid NOT NULL REFERENCES allocation_rounds (id) ON DELETE CASCADE,
    application_id uuid NOT NULL REFERENCES allocation_applications (id) ON DELETE CASCADE,
    request jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),
    status text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'allocated', 'withdrawn')),
    slot jsonb,
    CHECK ((status = 'allocated') = (slot IS NOT NULL)),
    decided_run uuid REFERENCES allocation_runs (id),
    -- Why better alternatives were not given, from the run that decided it (or the latest
    -- registered run that could not place it).
    why_not jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(why_not) = 'array'),
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_matches_round ON allocation_matches (round_id, submitted_at, id);
CREATE INDEX allocation_matches_application ON allocation_matches (application_id);

-- Matches are booked at the vendors through the same outbox as weekly series: one occasion
-- (the series' first and last date the match's date).
ALTER TABLE allocation_series
    ADD COLUMN match_id uuid REFERENCES allocation_matches (id) ON DELETE CASCADE,
    ADD COLUMN match_date date,
    ADD CHECK ((match_id IS NULL) = (match_date IS NULL));
ALTER TABLE allocation_series DROP CONSTRAINT allocation_series_pkey;
CREATE UNIQUE INDEX allocation_series_training ON allocation_series (round_id, application_id, wish, session) WHERE match_id IS NULL;
CREATE UNIQUE INDEX allocation_series_match ON allocation_series (match_id) WHERE match_id IS NOT NULL;

ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check
    CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor', 'allocation_round', 'allocation_application',
                      'allocation_match'));
