CREATE TABLE facilities (
    id uuid PRIMARY KEY,
    municipality_code text NOT NULL REFERENCES municipalities (code),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    category text NOT NULL REFERENCES facility_categories (code),
    activities text[] NOT NULL DEFAULT '{}' CHECK (cardinality(activities) <= 50),
    location geography(Point, 4326)
        CONSTRAINT location_in_sweden CHECK (location IS NULL OR (
            ST_Y(location::geometry) BETWEEN 55.0 AND 69.1 AND ST_X(location::geometry) BETWEEN 10.9 AND 24.2)),
    street text NOT NULL DEFAULT '' CHECK (length(street) <= 200),
    postal_code text NOT NULL DEFAULT '' CHECK (postal_code = '' OR postal_code ~ '^[1-9][0-9]{4}$'),
    locality text NOT NULL DEFAULT '' CHECK (length(locality) <= 100),
    ownership text NOT NULL CHECK (ownership IN ('municipal', 'rented_by_municipality', 'other')),
    accessibility text[] NOT NULL DEFAULT '{}' CHECK (accessibility <@ ARRAY[
        'step_free_entrance', 'accessible_toilet', 'hearing_loop', 'accessible_parking', 'accessible_changing_room']::text[]),
    email text CHECK (email IS NULL OR email LIKE '%_@_%.%'),
    phone text CHECK (phone IS NULL OR phone ~ '^\+?[0-9]{5,15}$'),
    website text CHECK (website IS NULL OR website ~ '^https?://[^/\s]'),
    booking_vendor_id text,
    booking_vendor_ref text,
    version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT vendor_ref_complete CHECK ((booking_vendor_id IS NULL) = (booking_vendor_ref IS NULL))
);
CREATE TRIGGER facilities_activities_known BEFORE INSERT OR UPDATE OF activities ON facilities
    FOR EACH ROW EXECUTE FUNCTION registry_check_activity_codes();
CREATE INDEX facilities_location_gist ON facilities USING gist (location);
CREATE INDEX facilities_municipality ON facilities (municipality_code, id) WHERE deleted_at IS NULL;
CREATE INDEX facilities_updated ON facilities (updated_at, id);
CREATE INDEX facilities_activities ON facilities USING gin (activities);

-- Bookable units (lokaler). Part of the facility aggregate: written with it, versioned with it.
CREATE TABLE facility_units (
    id uuid PRIMARY KEY,
    facility_id uuid NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    category text NOT NULL REFERENCES facility_categories (code),
    capacity integer CHECK (capacity BETWEEN 0 AND 100000),
    area_m2 double precision CHECK (area_m2 > 0 AND area_m2 <= 1000000),
    bookable boolean NOT NULL DEFAULT true
);
CREATE INDEX facility_units_facility ON facility_units (facility_id, position);

CREATE TABLE associations (
    id uuid PRIMARY KEY,
    org_number text NOT NULL
        CONSTRAINT org_number_valid CHECK (org_number ~ '^[0-9]{10}$' AND registry_luhn_valid(org_number)),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    municipality_code text NOT NULL REFERENCES municipalities (code),
    activities text[] NOT NULL DEFAULT '{}' CHECK (cardinality(activities) <= 50),
    email text CHECK (email IS NULL OR email LIKE '%_@_%.%'),
    phone text CHECK (phone IS NULL OR phone ~ '^\+?[0-9]{5,15}$'),
    website text CHECK (website IS NULL OR website ~ '^https?://[^/\s]'),
    member_statistics jsonb CHECK (member_statistics IS NULL OR jsonb_typeof(member_statistics) = 'object'),
    registration_status text NOT NULL DEFAULT 'pending'
        CHECK (registration_status IN ('pending', 'approved', 'rejected', 'needs_completion')),
    registration_message text,
    registration_decided_at timestamptz,
    contact_persons jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(contact_persons) = 'array'),
    version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT registration_message_when_needed
        CHECK ((registration_status IN ('rejected', 'needs_completion')) = (registration_message IS NOT NULL))
);
CREATE TRIGGER associations_activities_known BEFORE INSERT OR UPDATE OF activities ON associations
    FOR EACH ROW EXECUTE FUNCTION registry_check_activity_codes();
CREATE UNIQUE INDEX associations_org_number_unique ON associations (org_number) WHERE deleted_at IS NULL;
CREATE INDEX associations_municipality ON associations (municipality_code, id) WHERE deleted_at IS NULL;
CREATE INDEX associations_activities ON associations USING gin (activities);

-- Every write appends one row here in its own transaction: audit, change feeds and exports read it.
CREATE TABLE change_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity text NOT NULL CHECK (entity IN ('facility', 'association')),
    entity_id uuid NOT NULL,
    operation text NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
    actor text NOT NULL CHECK (actor <> ''),
    at timestamptz NOT NULL DEFAULT now(),
    before jsonb,
    after jsonb,
    CONSTRAINT before_unless_create CHECK ((operation = 'create') = (before IS NULL)),
    CONSTRAINT after_unless_delete CHECK ((operation = 'delete') = (after IS NULL))
);
CREATE INDEX change_log_entity ON change_log (entity, entity_id, seq);

-- Reads of personal data and other security-relevant events.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    entity text,
    entity_id uuid,
    detail jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    prefix text NOT NULL UNIQUE CHECK (prefix ~ '^[0-9a-f]{8}$'),
    secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    role text NOT NULL CHECK (role IN ('editor', 'vendor', 'national_body', 'admin')),
    municipality_code text REFERENCES municipalities (code),
    personal_data boolean NOT NULL DEFAULT false,
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT editor_has_municipality CHECK ((role = 'editor') = (municipality_code IS NOT NULL))
);
