-- One association, several municipalities; self-service by its representatives; the record
-- national bodies need (issue 26, parts 3–5).
--
-- `associations` becomes the national record, one per organisation number. Its
-- `municipality_code` is the seat (säte), the municipality it first registered with. Each
-- municipality it is active in decides its own registration in `association_registrations`.
-- The old columns `registration_status`, `registration_message` and `registration_decided_at`
-- stay as a summary kept by a trigger (the headline registration: an approved one first, the
-- seat's before others), so search, exports and feeds that filter on "approved" still work.

-- Code lists of the record; seeded by the Rust migration 20261205000015 from
-- registry-core/data/association_types.csv and federations.csv.
CREATE TABLE association_types (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name_sv text NOT NULL CHECK (name_sv <> ''),
    name_en text NOT NULL CHECK (name_en <> '')
);
CREATE TABLE federations (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name_sv text NOT NULL CHECK (name_sv <> ''),
    name_en text NOT NULL CHECK (name_en <> '')
);

CREATE FUNCTION registry_check_federation_codes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT f INTO bad FROM unnest(NEW.federations) AS f
    WHERE f IS NULL OR NOT EXISTS (SELECT 1 FROM federations WHERE code = f)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('unknown federation code %L', bad),
            COLUMN = 'federations';
    END IF;
    RETURN NEW;
END $$;

ALTER TABLE associations
    DROP CONSTRAINT associations_registration_status_check,
    ADD CONSTRAINT associations_registration_status_check
        CHECK (registration_status IN ('pending', 'approved', 'rejected', 'needs_completion', 'withdrawn')),
    ADD COLUMN postal_address jsonb CHECK (postal_address IS NULL OR jsonb_typeof(postal_address) = 'object'),
    ADD COLUMN association_type text REFERENCES association_types (code),
    ADD COLUMN federations text[] NOT NULL DEFAULT '{}' CHECK (cardinality(federations) <= 30),
    ADD COLUMN founded_year integer CHECK (founded_year BETWEEN 1600 AND 2200),
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dissolved')),
    -- Current figures of every reported year, oldest first (`member_statistics` stays the
    -- latest year's). Stored as `json`, which exports print as it is (migration 11's lesson).
    ADD COLUMN member_statistics_by_year json NOT NULL DEFAULT '[]' CHECK (json_typeof(member_statistics_by_year) = 'array'),
    -- Kept by the trigger below: where the association has a registration that is not withdrawn, and where one is approved.
    ADD COLUMN registered_in text[] NOT NULL DEFAULT '{}',
    ADD COLUMN approved_in text[] NOT NULL DEFAULT '{}',
    -- The registrations as exports print them (all, and the approved ones): kept by the
    -- trigger, so an export of a million associations does not build JSON row by row.
    ADD COLUMN registrations_json json NOT NULL DEFAULT '[]',
    ADD COLUMN approved_registrations_json json NOT NULL DEFAULT '[]';
CREATE TRIGGER associations_federations_known BEFORE INSERT OR UPDATE OF federations ON associations
    FOR EACH ROW EXECUTE FUNCTION registry_check_federation_codes();
CREATE INDEX associations_registered_in ON associations USING gin (registered_in) WHERE deleted_at IS NULL;
CREATE INDEX associations_approved_in ON associations USING gin (approved_in) WHERE deleted_at IS NULL;

-- One registration per association and municipality, decided by that municipality.
CREATE TABLE association_registrations (
    association_id uuid NOT NULL REFERENCES associations (id),
    municipality_code text NOT NULL REFERENCES municipalities (code),
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'needs_completion', 'withdrawn')),
    message text CHECK (message IS NULL OR length(message) <= 2000),
    submitted_at timestamptz NOT NULL,
    decided_at timestamptz,
    PRIMARY KEY (association_id, municipality_code),
    CONSTRAINT registration_message_when_needed CHECK ((status IN ('rejected', 'needs_completion')) = (message IS NOT NULL))
);
-- The staff inbox: a municipality's registrations in a status, oldest submission first.
CREATE INDEX association_registrations_inbox ON association_registrations (municipality_code, status, submitted_at, association_id);

-- What happened to a registration, for the association and the municipality to read back:
-- submitted, resubmitted (with the association's answer), approved, rejected, completion
-- asked (with the municipality's message), withdrawn. `by_role` is a role, never a person.
CREATE TABLE association_registration_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    association_id uuid NOT NULL,
    municipality_code text NOT NULL,
    at timestamptz NOT NULL,
    kind text NOT NULL CHECK (kind IN ('submitted', 'resubmitted', 'approved', 'rejected', 'completion_requested', 'withdrawn')),
    message text CHECK (message IS NULL OR length(message) <= 2000),
    by_role text NOT NULL CHECK (by_role IN ('representative', 'municipality', 'admin')),
    FOREIGN KEY (association_id, municipality_code) REFERENCES association_registrations (association_id, municipality_code)
);
CREATE INDEX association_registration_events_of ON association_registration_events (association_id, municipality_code, id);

-- The people who act for an association, known by their peppered reference
-- (registry_core::person::person_ref), never by the number.
CREATE TABLE association_representatives (
    id uuid PRIMARY KEY,
    association_id uuid NOT NULL REFERENCES associations (id),
    person_ref text NOT NULL CHECK (person_ref ~ '^[0-9a-f]{64}$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    added_at timestamptz NOT NULL,
    added_by_role text NOT NULL CHECK (added_by_role IN ('representative', 'municipality', 'admin', 'registrant')),
    UNIQUE (association_id, person_ref)
);
CREATE INDEX association_representatives_person ON association_representatives (person_ref);

-- Every report of member statistics: one per association and year, corrections as new versions.
CREATE TABLE member_statistics_reports (
    association_id uuid NOT NULL REFERENCES associations (id),
    year integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    version integer NOT NULL CHECK (version >= 1),
    counts jsonb NOT NULL CHECK (jsonb_typeof(counts) = 'array'),
    reported_at timestamptz NOT NULL,
    by_role text NOT NULL CHECK (by_role IN ('representative', 'municipality', 'admin')),
    PRIMARY KEY (association_id, year, version)
);

-- An association's registrations in the shape of the API's MunicipalRegistration, in the
-- order of submission (as the API lists them); only the approved ones with `only_approved`.
CREATE FUNCTION registry_registrations_json(association uuid, only_approved boolean) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
            'municipalityCode', r.municipality_code,
            'status', 'REGISTRATION_STATUS_' || upper(r.status),
            'message', r.message,
            'submittedAt', to_char(r.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'decidedAt', to_char(r.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
        ORDER BY r.submitted_at, r.municipality_code), '[]'::json)
    FROM association_registrations r
    WHERE r.association_id = association AND (NOT only_approved OR r.status = 'approved')
    $$;

-- Keeps the summary columns of `associations` in step with its registrations.
CREATE FUNCTION registry_association_registration_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE associations a SET
        registrations_json = registry_registrations_json(a.id, false),
        approved_registrations_json = registry_registrations_json(a.id, true),
        registered_in = coalesce((SELECT array_agg(r.municipality_code ORDER BY r.municipality_code)
            FROM association_registrations r WHERE r.association_id = a.id AND r.status <> 'withdrawn'), '{}'),
        approved_in = coalesce((SELECT array_agg(r.municipality_code ORDER BY r.municipality_code)
            FROM association_registrations r WHERE r.association_id = a.id AND r.status = 'approved'), '{}'),
        (registration_status, registration_message, registration_decided_at) = (
            SELECT r.status, r.message, r.decided_at FROM association_registrations r
            WHERE r.association_id = a.id
            ORDER BY r.status = 'approved' DESC, r.status = 'withdrawn', r.municipality_code = a.municipality_code DESC,
                r.submitted_at, r.municipality_code
            LIMIT 1)
    WHERE a.id = NEW.association_id;
    RETURN NULL;
END $$;

-- Today's data: each association's one registration, its events as far as they are known,
-- and its member statistics as the first report of their year.
INSERT INTO association_registrations (association_id, municipality_code, status, message, submitted_at, decided_at)
    SELECT id, municipality_code, registration_status, registration_message, created_at, registration_decided_at FROM associations;
INSERT INTO association_registration_events (association_id, municipality_code, at, kind, message, by_role)
    SELECT id, municipality_code, created_at, 'submitted', NULL, 'municipality' FROM associations;
INSERT INTO association_registration_events (association_id, municipality_code, at, kind, message, by_role)
    SELECT id, municipality_code, registration_decided_at,
        CASE registration_status WHEN 'needs_completion' THEN 'completion_requested' ELSE registration_status END,
        registration_message, 'municipality'
    FROM associations WHERE registration_decided_at IS NOT NULL AND registration_status IN ('approved', 'rejected', 'needs_completion');
INSERT INTO member_statistics_reports (association_id, year, version, counts, reported_at, by_role)
    SELECT id, (member_statistics ->> 'year')::integer, 1, member_statistics -> 'counts', updated_at, 'municipality'
    FROM associations WHERE member_statistics IS NOT NULL;
UPDATE associations SET
    member_statistics_by_year = CASE WHEN member_statistics IS NULL THEN '[]'::json ELSE json_build_array(member_statistics_text) END,
    registered_in = CASE WHEN registration_status = 'withdrawn' THEN '{}'::text[] ELSE ARRAY[municipality_code] END,
    approved_in = CASE WHEN registration_status = 'approved' THEN ARRAY[municipality_code] ELSE '{}'::text[] END,
    registrations_json = registry_registrations_json(id, false),
    approved_registrations_json = registry_registrations_json(id, true);

CREATE TRIGGER association_registrations_summary AFTER INSERT OR UPDATE ON association_registrations
    FOR EACH ROW EXECUTE FUNCTION registry_association_registration_summary();
