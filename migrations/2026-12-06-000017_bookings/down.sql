DROP TABLE calendar_feeds;
DELETE FROM notices WHERE kind IN ('booking_update', 'booking_reminder');
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('registration_decided'));
DROP TABLE vendor_change_cursors;
DROP TABLE bookings;
