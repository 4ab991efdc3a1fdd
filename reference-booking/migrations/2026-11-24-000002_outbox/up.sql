-- The outbox (issue 9): every booking state change, appended in the same transaction by a
-- trigger (so no path around the backend can skip it), and what each webhook receiver has
-- been delivered.
CREATE TABLE outbox (
    seq bigserial PRIMARY KEY,
    booking_id uuid NOT NULL,
    event text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_booking ON outbox (booking_id, seq);

CREATE FUNCTION booking_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO outbox (booking_id, event, payload)
        VALUES (NEW.id, 'booking.' || NEW.status, jsonb_strip_nulls(jsonb_build_object(
            'bookingId', NEW.id,
            'unitRef', (SELECT external_ref FROM units WHERE id = NEW.unit_id),
            'start', lower(NEW.during),
            'end', upper(NEW.during),
            'kind', NEW.kind,
            'status', NEW.status,
            'previousStatus', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
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
CREATE TRIGGER bookings_outbox AFTER INSERT OR UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION booking_outbox();

CREATE TABLE webhook_deliveries (
    receiver text NOT NULL,
    seq bigint NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL CHECK (attempts >= 1),
    PRIMARY KEY (receiver, seq)
);
