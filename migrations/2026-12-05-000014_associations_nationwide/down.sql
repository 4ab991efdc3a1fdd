DROP TRIGGER association_registrations_summary ON association_registrations;
DROP FUNCTION registry_association_registration_summary();
DROP FUNCTION registry_registrations_json(uuid, boolean);
DROP TABLE member_statistics_reports;
DROP TABLE association_representatives;
DROP TABLE association_registration_events;
DROP TABLE association_registrations;
DROP TRIGGER associations_federations_known ON associations;
UPDATE associations SET registration_status = 'pending', registration_message = NULL WHERE registration_status = 'withdrawn';
ALTER TABLE associations
    DROP COLUMN postal_address,
    DROP COLUMN association_type,
    DROP COLUMN federations,
    DROP COLUMN founded_year,
    DROP COLUMN status,
    DROP COLUMN member_statistics_by_year,
    DROP COLUMN registered_in,
    DROP COLUMN approved_in,
    DROP COLUMN registrations_json,
    DROP COLUMN approved_registrations_json,
    DROP CONSTRAINT associations_registration_status_check,
    ADD CONSTRAINT associations_registration_status_check
        CHECK (registration_status IN ('pending', 'approved', 'rejected', 'needs_completion'));
DROP FUNCTION registry_check_federation_codes();
DROP TABLE federations;
DROP TABLE association_types;
