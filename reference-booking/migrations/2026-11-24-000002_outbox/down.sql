DROP TABLE webhook_deliveries;
DROP TRIGGER bookings_outbox ON bookings;
DROP FUNCTION booking_outbox();
DROP TABLE outbox;
