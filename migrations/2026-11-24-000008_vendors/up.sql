-- The vendor directory (issue 8): booking vendors (leverantörer), the municipalities each
-- serves, and the vendor's own reference for each unit it books.
CREATE TABLE vendors (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    endpoint text NOT NULL CHECK (endpoint ~ '^https?://[^/\s]+' AND length(endpoint) <= 500),
    protocol text NOT NULL CHECK (protocol IN ('grpc', 'openactive')),
    auth text NOT NULL CHECK (auth IN ('mtls', 'api_key', 'none')),
    -- Where the secret is, never the secret: the name of the environment variable (API key)
    -- or of the mounted files (client certificate) the registry reads at start.
    credential_ref text CHECK (credential_ref ~ '^[A-Za-z0-9_./-]{1,200}$'),
    ca_pem text CHECK (ca_pem IS NULL OR (ca_pem LIKE '-----BEGIN CERTIFICATE-----%' AND length(ca_pem) <= 20000)),
    max_concurrency integer NOT NULL DEFAULT 8 CHECK (max_concurrency BETWEEN 1 AND 256),
    requests_per_second integer NOT NULL DEFAULT 50 CHECK (requests_per_second BETWEEN 1 AND 10000),
    capabilities jsonb CHECK (capabilities IS NULL OR jsonb_typeof(capabilities) = 'object'),
    capabilities_at timestamptz,
    version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT credential_when_needed CHECK ((auth = 'none') = (credential_ref IS NULL)),
    CONSTRAINT plain_http_only_without_auth CHECK (endpoint LIKE 'https://%' OR auth = 'none')
);
CREATE UNIQUE INDEX vendors_name_unique ON vendors (lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE vendor_municipalities (
    vendor_id uuid NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    municipality_code text NOT NULL REFERENCES municipalities (code),
    PRIMARY KEY (vendor_id, municipality_code)
);
CREATE INDEX vendor_municipalities_code ON vendor_municipalities (municipality_code);

-- One vendor per unit; the vendor's reference is unique within the vendor.
CREATE TABLE vendor_units (
    unit_id uuid PRIMARY KEY REFERENCES facility_units (id) ON DELETE CASCADE,
    vendor_id uuid NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    external_ref text NOT NULL CHECK (length(external_ref) BETWEEN 1 AND 200),
    UNIQUE (vendor_id, external_ref)
);
CREATE INDEX vendor_units_vendor ON vendor_units (vendor_id);

ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor'));
