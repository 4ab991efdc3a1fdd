-- Idempotency keys (issue 25): each caller's keys, claimed inside the transaction that makes
-- the booking, series or block, before anything else is checked or written. A concurrent retry
-- with the same key waits on the claim (the primary key's uncommitted entry) until the first
-- transaction ends, and then answers with what it made: never "slot taken" for the time it
-- booked itself. A key belongs to its caller (the API key, or the name of a configured key):
-- another caller's same key is another key. When the first transaction fails (the time is
-- taken, a rule is broken), its claim goes with it, and the key is free for a retry.
CREATE TABLE idempotency_keys (
    caller text NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    operation text NOT NULL CHECK (operation IN ('booking', 'series', 'block')),
    -- SHA-256 of the request as first sent: the same key with another request is refused.
    request_hash text NOT NULL,
    -- The booking or block it made.
    booking_id uuid REFERENCES bookings (id) DEFERRABLE INITIALLY DEFERRED,
    -- The series it made, and the report first answered (replayed as it was).
    series_id uuid,
    answer jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key),
    CONSTRAINT made_what_it_says CHECK (CASE operation WHEN 'series' THEN booking_id IS NULL ELSE booking_id IS NOT NULL AND series_id IS NULL END)
);

-- The keys of what was made before this table: single bookings and blocks under their own key,
-- series under their occurrences' keys (`KEY#n`, so the series' key is KEY).
INSERT INTO idempotency_keys (caller, key, operation, request_hash, booking_id, created_at)
SELECT created_by, idempotency_key, CASE kind WHEN 'block' THEN 'block' ELSE 'booking' END, request_hash, id, created_at
  FROM bookings
 WHERE idempotency_key IS NOT NULL AND series_id IS NULL
ON CONFLICT DO NOTHING;
INSERT INTO idempotency_keys (caller, key, operation, request_hash, series_id, created_at)
SELECT DISTINCT ON (series_id) created_by, regexp_replace(idempotency_key, '#[0-9]+$', ''), 'series', request_hash, series_id, created_at
  FROM bookings
 WHERE idempotency_key ~ '#[0-9]+$' AND series_id IS NOT NULL
 ORDER BY series_id, lower(during)
ON CONFLICT DO NOTHING;
