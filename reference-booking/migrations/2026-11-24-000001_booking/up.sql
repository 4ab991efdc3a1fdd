-- The reference booking backend's own database (issue 9): its units (linked to the registry's
-- facility and unit ids) with their booking rules, the opening hours it last read from the
-- registry, and the bookings and blocks. No table is shared with the registry.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE units (
    id uuid PRIMARY KEY,
    -- The reference the registry's vendor directory uses for this unit (vendor.v1 unit_ref).
    external_ref text NOT NULL UNIQUE CHECK (external_ref ~ '^[A-Za-z0-9_.:-]{1,200}$'),
    registry_facility_id uuid NOT NULL,
    registry_unit_id uuid NOT NULL UNIQUE,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- Booking rules.
    slot_minutes integer NOT NULL CHECK (slot_minutes BETWEEN 5 AND 1440 AND 1440 % slot_minutes = 0),
    min_minutes integer NOT NULL CHECK (min_minutes >= slot_minutes AND min_minutes % slot_minutes = 0),
    max_minutes integer NOT NULL CHECK (max_minutes >= min_minutes AND max_minutes <= 1440 * 14 AND max_minutes % slot_minutes = 0),
    lead_minutes integer NOT NULL CHECK (lead_minutes BETWEEN 0 AND 525600),
    horizon_days integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 730),
    cancel_hours integer NOT NULL CHECK (cancel_hours BETWEEN 0 AND 8760),
    -- Customer types (private_person, association, company) that book directly, and those that
    -- must send a request for a case officer (handläggare) to decide.
    direct_types text[] NOT NULL CHECK (direct_types <@ ARRAY['private_person', 'association', 'company']),
    request_types text[] NOT NULL CHECK (request_types <@ ARRAY['private_person', 'association', 'company']),
    -- Price per hour by customer type: {"association": {"amountMinor": 15000, "currency": "SEK"}, …}
    prices jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(prices) = 'object'),
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT types_disjoint CHECK (NOT (direct_types && request_types))
);

-- The unit's opening hours as last read from the registry (the registry's JSON model), so the
-- backend keeps answering while the registry is away.
CREATE TABLE unit_hours (
    unit_id uuid PRIMARY KEY REFERENCES units (id) ON DELETE CASCADE,
    schedule jsonb NOT NULL,
    registry_version bigint NOT NULL,
    fetched_at timestamptz NOT NULL
);

CREATE TABLE bookings (
    id uuid PRIMARY KEY,
    unit_id uuid NOT NULL REFERENCES units (id),
    during tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)
                                     AND NOT lower_inf(during) AND NOT upper_inf(during)),
    -- direct: confirmed at once; request: decided by a case officer; block: maintenance or an event.
    kind text NOT NULL CHECK (kind IN ('direct', 'request', 'block')),
    status text NOT NULL CHECK (status IN ('confirmed', 'pending', 'needs_completion', 'rejected', 'cancelled')),
    customer_type text CHECK (customer_type IN ('private_person', 'association', 'company')),
    -- Personal data: name, email, phone, organisation number. Used only for the booking.
    customer jsonb,
    activity text,
    participants integer CHECK (participants BETWEEN 0 AND 100000),
    customer_message text,
    -- To the customer (a rejection's reason, what to complete) or the block's reason.
    status_message text,
    cancel_reason text,
    price_minor_per_hour bigint CHECK (price_minor_per_hour >= 0),
    amount_minor bigint CHECK (amount_minor >= 0),
    currency text CHECK (currency ~ '^[A-Z]{3}$'),
    payment_method text CHECK (payment_method IN ('direct', 'invoice')),
    access_code text CHECK (access_code ~ '^[0-9]{6}$'),
    series_id uuid,
    created_by text NOT NULL,
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 100),
    request_hash text,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blocks_have_no_customer CHECK ((kind = 'block') = (customer_type IS NULL)),
    CONSTRAINT keys_have_hashes CHECK ((idempotency_key IS NULL) = (request_hash IS NULL)),
    -- No double booking: confirmed bookings and blocks of a unit never overlap.
    CONSTRAINT no_double_booking EXCLUDE USING gist (unit_id WITH =, during WITH &&) WHERE (status = 'confirmed')
);
CREATE UNIQUE INDEX bookings_idempotency ON bookings (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX bookings_unit_during ON bookings USING gist (unit_id, during) WHERE status IN ('confirmed', 'pending', 'needs_completion');
CREATE INDEX bookings_series ON bookings (series_id) WHERE series_id IS NOT NULL;
