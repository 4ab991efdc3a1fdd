-- Bookings made through the registry (issue 27). The vendor keeps the booking; the registry
-- keeps who made it (a person's pseudonym, never the number), for which association, the
-- per-vendor customer reference it sent, and the state it last learnt, so that the owner can
-- find, cancel and rebook it and notices reach them.
CREATE TABLE bookings (
    id uuid PRIMARY KEY,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    vendor_booking_id text NOT NULL CHECK (length(vendor_booking_id) BETWEEN 1 AND 200),
    facility_id uuid NOT NULL,
    unit_id uuid NOT NULL,
    -- Who booked: the peppered reference of their personal identity number.
    person_ref text NOT NULL CHECK (person_ref ~ '^[0-9a-f]{64}$'),
    -- Booked as this association, by one of its representatives (verified at booking).
    association_id uuid REFERENCES associations (id),
    -- The registry's per-vendor pseudonym sent to the vendor (vendor.v1.1 Customer.reference).
    customer_reference text NOT NULL CHECK (customer_reference ~ '^[ap]-[0-9a-f]{32}$'),
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL CHECK (end_at > start_at),
    status text NOT NULL CHECK (status IN ('confirmed', 'pending', 'needs_completion', 'rejected', 'cancelled')),
    status_message text,
    -- Personal data for notices, only while needed: cleared when the retention job runs after
    -- the booking has ended.
    notify_email text,
    -- Whether the owner wants a reminder before the start.
    reminders boolean NOT NULL DEFAULT true,
    reminded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (vendor_id, vendor_booking_id)
);
CREATE INDEX bookings_person ON bookings (person_ref, start_at);
CREATE INDEX bookings_association ON bookings (association_id, start_at) WHERE association_id IS NOT NULL;
CREATE INDEX bookings_reminders ON bookings (start_at) WHERE reminders AND reminded_at IS NULL AND status = 'confirmed';

-- Where the registry reads each vendor's change feed (vendor.v1.1 ListChanges).
CREATE TABLE vendor_change_cursors (
    vendor_id uuid PRIMARY KEY REFERENCES vendors (id) ON DELETE CASCADE,
    cursor text NOT NULL CHECK (length(cursor) BETWEEN 1 AND 500),
    read_at timestamptz NOT NULL DEFAULT now()
);

-- Notices of bookings: each step of a booking (made, request received, decided, completion
-- asked, cancelled, moved) and the reminder before the start.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('registration_decided', 'booking_update', 'booking_reminder'));

-- A person's calendar feed of their bookings: a secret URL (its token stored only as a
-- hash), one per person, replaced or revoked by them.
CREATE TABLE calendar_feeds (
    person_ref text PRIMARY KEY CHECK (person_ref ~ '^[0-9a-f]{64}$'),
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
