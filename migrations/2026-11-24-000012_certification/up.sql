-- Vendor certification (issue 14): every conformance run of every vendor, kept, and the
-- vendor's certification derived from them: certified until a date, or overridden by an
-- admin with a recorded reason.
CREATE TABLE vendor_certification_runs (
    id uuid PRIMARY KEY,
    vendor_id uuid NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    run_at timestamptz NOT NULL,
    -- What started the run.
    trigger text NOT NULL CHECK (trigger IN ('registration', 'endpoint_change', 'schedule', 'capabilities_changed', 'request')),
    endpoint text NOT NULL CHECK (length(endpoint) <= 500),
    -- As the vendor's capabilities stated it; NULL when they could not be fetched.
    protocol_version text CHECK (length(protocol_version) <= 50),
    passed boolean NOT NULL,
    -- Ids of the checks that failed (empty when passed).
    failed_checks text[] NOT NULL DEFAULT '{}',
    -- Per check: id, section, title, verdict, detail, elapsedMs.
    checks jsonb NOT NULL CHECK (jsonb_typeof(checks) = 'array'),
    CONSTRAINT passed_means_no_failures CHECK (passed = (cardinality(failed_checks) = 0))
);
CREATE INDEX vendor_certification_runs_vendor ON vendor_certification_runs (vendor_id, run_at DESC);

ALTER TABLE vendors
    -- The last passing run, and until when it certifies the vendor.
    ADD COLUMN last_passed_at timestamptz,
    ADD COLUMN certified_until timestamptz,
    -- An admin's override: the vendor is federated although it has no passing run.
    ADD COLUMN override_reason text CHECK (length(btrim(override_reason)) BETWEEN 10 AND 1000),
    ADD COLUMN override_by text,
    ADD COLUMN override_at timestamptz,
    ADD COLUMN override_until timestamptz,
    -- When a replica last asked the vendor's capabilities (to notice a change), so that
    -- replicas do not all ask.
    ADD COLUMN polled_at timestamptz,
    -- The vendor's references of units the registry's runs may book and cancel again.
    ADD COLUMN test_units text[] NOT NULL DEFAULT '{}' CHECK (cardinality(test_units) <= 3),
    ADD CONSTRAINT override_complete CHECK (
        (override_reason IS NULL) = (override_by IS NULL)
        AND (override_reason IS NULL) = (override_at IS NULL)
        AND (override_reason IS NULL) = (override_until IS NULL));

-- The latest result of each vendor becomes its first run; a passing one certifies it for a day.
INSERT INTO vendor_certification_runs (id, vendor_id, run_at, trigger, endpoint, protocol_version, passed, failed_checks, checks)
SELECT gen_random_uuid(), v.id, v.conformance_at, 'request', v.endpoint, v.capabilities ->> 'protocolVersion',
       v.conformance_passed,
       CASE WHEN v.conformance_passed THEN '{}'::text[]
            ELSE COALESCE(ARRAY(SELECT c ->> 'id' FROM jsonb_array_elements(v.conformance -> 'checks') c WHERE c ->> 'verdict' = 'fail'), '{}')
       END,
       COALESCE(v.conformance -> 'checks', '[]')
  FROM vendors v
 WHERE v.conformance IS NOT NULL
   AND (v.conformance_passed OR EXISTS (SELECT 1 FROM jsonb_array_elements(v.conformance -> 'checks') c WHERE c ->> 'verdict' = 'fail'));
UPDATE vendors SET last_passed_at = conformance_at, certified_until = conformance_at + interval '1 day' WHERE conformance_passed;
