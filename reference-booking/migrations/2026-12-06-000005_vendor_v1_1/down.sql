DROP INDEX bookings_requests_waiting;
ALTER TABLE units DROP COLUMN municipality_code;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_operation_check;
DELETE FROM idempotency_keys WHERE operation = 'move';
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_operation_check CHECK (operation IN ('booking', 'series', 'block'));
ALTER TABLE outbox DROP COLUMN actor;
DROP INDEX bookings_customer_ref;
ALTER TABLE bookings DROP COLUMN association_verified, DROP COLUMN customer_ref;
