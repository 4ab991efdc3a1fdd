DELETE FROM notices WHERE kind = 'grant_update';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('registration_decided', 'booking_update', 'booking_reminder'));
DELETE FROM change_log WHERE entity IN ('grant_programme', 'grant_application', 'grant_payment_order');
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check
    CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor', 'allocation_round', 'allocation_application',
                      'allocation_match'));
DROP TABLE grant_payments;
DROP TABLE grant_payment_orders;
DROP TABLE grant_occasions;
DROP TABLE grant_attendance_lists;
DROP TABLE grant_attachment_contents;
DROP TABLE grant_attachments;
DROP TABLE grant_applications;
DROP TABLE grant_programmes;
