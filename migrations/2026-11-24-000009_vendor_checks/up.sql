-- Vendor checks and vendor-self access (issue 8): the latest conformance result of each
-- vendor, kept apart from its capabilities, and API keys that belong to one vendor so that a
-- vendor can keep its own directory entry up to date.
ALTER TABLE vendors
    ADD COLUMN conformance jsonb CHECK (conformance IS NULL OR jsonb_typeof(conformance) = 'object'),
    ADD COLUMN conformance_at timestamptz,
    ADD COLUMN conformance_passed boolean,
    ADD CONSTRAINT conformance_complete CHECK ((conformance IS NULL) = (conformance_at IS NULL) AND (conformance IS NULL) = (conformance_passed IS NULL));

-- Results recorded at registration before this migration were kept inside the capabilities.
UPDATE vendors
   SET conformance = capabilities -> 'conformance',
       conformance_at = COALESCE((capabilities -> 'conformance' ->> 'checkedAt')::timestamptz, capabilities_at, updated_at),
       conformance_passed = COALESCE((capabilities -> 'conformance' ->> 'passed')::boolean, false),
       capabilities = capabilities - 'conformance'
 WHERE capabilities ? 'conformance' AND jsonb_typeof(capabilities -> 'conformance') = 'object';

ALTER TABLE api_keys
    ADD COLUMN vendor_id uuid REFERENCES vendors (id) ON DELETE CASCADE,
    ADD CONSTRAINT vendor_keys_only CHECK (vendor_id IS NULL OR role = 'vendor');
CREATE INDEX api_keys_vendor ON api_keys (vendor_id) WHERE vendor_id IS NOT NULL;
