-- vendor.v1.1 (issue 27): customer references, status history with who acted, moves, and the
-- change feed of each caller's bookings.

-- The caller's opaque reference of the customer (the registry's per-vendor pseudonym of a
-- person or an association) and whether the caller verified the association.
ALTER TABLE bookings
    ADD COLUMN customer_ref text CHECK (customer_ref ~ '^[A-Za-z0-9_.:-]{1,100}$'),
    ADD COLUMN association_verified boolean NOT NULL DEFAULT false;
CREATE INDEX bookings_customer_ref ON bookings (created_by, customer_ref, lower(during)) WHERE customer_ref IS NOT NULL;

-- Who made each change: 'customer', 'staff' or 'system' (the transaction's
-- `reference_booking.actor` setting).
ALTER TABLE outbox ADD COLUMN actor text NOT NULL DEFAULT 'system' CHECK (actor IN ('customer', 'staff', 'system'));

-- The trigger also records moves (another time or unit, the status unchanged), the customer's
-- message with a request, and the actor. It appends under a transaction-scoped advisory lock,
-- held to the commit, so sequence numbers are handed out in commit order: once a reader sees
-- change n, every change below n is committed and visible too. The change feed (ListChanges)
-- reads `seq > cursor` and never skips a change that committed late.
CREATE OR REPLACE FUNCTION booking_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved boolean := TG_OP = 'UPDATE' AND (NEW.during IS DISTINCT FROM OLD.during OR NEW.unit_id IS DISTINCT FROM OLD.unit_id);
    actor text := coalesce(nullif(current_setting('reference_booking.actor', true), ''), 'system');
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status OR moved THEN
        PERFORM pg_advisory_xact_lock(7320, 1);
        INSERT INTO outbox (booking_id, event, actor, payload)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN 'booking.moved'
                             ELSE 'booking.' || NEW.status END,
                CASE WHEN actor IN ('customer', 'staff', 'system') THEN actor ELSE 'system' END,
                jsonb_strip_nulls(jsonb_build_object(
            'bookingId', NEW.id,
            'unitRef', (SELECT external_ref FROM units WHERE id = NEW.unit_id),
            'start', lower(NEW.during),
            'end', upper(NEW.during),
            'kind', NEW.kind,
            'status', NEW.status,
            'previousStatus', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            'previousUnitRef', CASE WHEN moved THEN (SELECT external_ref FROM units WHERE id = OLD.unit_id) END,
            'previousStart', CASE WHEN moved THEN lower(OLD.during) END,
            'previousEnd', CASE WHEN moved THEN upper(OLD.during) END,
            'customerMessage', CASE WHEN TG_OP = 'INSERT' OR (NEW.status = 'pending' AND OLD.status = 'needs_completion') THEN NEW.customer_message END,
            'statusMessage', NEW.status_message,
            'cancelReason', NEW.cancel_reason,
            'accessCode', NEW.access_code,
            'amountMinor', NEW.amount_minor,
            'currency', NEW.currency,
            'paymentMethod', NEW.payment_method,
            'customerType', NEW.customer_type,
            'customer', NEW.customer,
            'seriesId', NEW.series_id,
            'version', NEW.version,
            'at', now())));
    END IF;
    RETURN NULL;
END
$$;

-- A move is made once per key, like a booking.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_operation_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_operation_check
    CHECK (operation IN ('booking', 'series', 'block', 'move'));

-- The municipality a unit is in (the registry's facility's), for the case officer's inbox per
-- municipality; units added before have none until they are saved again.
ALTER TABLE units ADD COLUMN municipality_code text CHECK (municipality_code ~ '^[0-9]{4}$');
-- The case officer's inbox: requests waiting, oldest first.
CREATE INDEX bookings_requests_waiting ON bookings (created_at, id) WHERE kind = 'request' AND status IN ('pending', 'needs_completion');
