DROP INDEX api_keys_vendor;
ALTER TABLE api_keys DROP CONSTRAINT vendor_keys_only, DROP COLUMN vendor_id;
UPDATE vendors
   SET capabilities = COALESCE(capabilities, '{}'::jsonb) || jsonb_build_object('conformance', conformance)
 WHERE conformance IS NOT NULL;
ALTER TABLE vendors
    DROP CONSTRAINT conformance_complete,
    DROP COLUMN conformance_passed,
    DROP COLUMN conformance_at,
    DROP COLUMN conformance;
