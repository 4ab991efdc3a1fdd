-- People sign in (issue 26): sign-ins in progress, server-side sessions, and the staff
-- identities that act for a municipality. No personal identity number is stored here: a
-- person is known by person_ref, SHA-256 of the server's pepper and the twelve digits
-- (registry_core::person::person_ref).

-- One row per redirect to an OpenID Provider, taken (deleted) by the callback: a state is
-- good once, and only for ten minutes (older rows are deleted when new ones are made).
CREATE TABLE oidc_logins (
    state_hash text PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
    provider text NOT NULL CHECK (provider ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    nonce text NOT NULL CHECK (length(nonce) BETWEEN 16 AND 200),
    pkce_verifier text NOT NULL CHECK (length(pkce_verifier) BETWEEN 43 AND 128),
    return_to text NOT NULL CHECK (return_to LIKE '/%' AND length(return_to) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is kept. A session
-- ends at expires_at (absolute), after the idle timeout since last_seen_at, or when revoked.
CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    person_ref text NOT NULL CHECK (person_ref ~ '^[0-9a-f]{64}$'),
    provider text NOT NULL,
    display_name text NOT NULL CHECK (length(display_name) <= 200),
    csrf_token text NOT NULL CHECK (length(csrf_token) = 64),
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at timestamptz
);
CREATE INDEX sessions_person ON sessions (person_ref);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Municipal staff: a person who, signed in, has a municipality editor's rights there. Added
-- and removed by an operator (`registry staff`), so staff stop sharing API keys.
CREATE TABLE staff (
    person_ref text PRIMARY KEY CHECK (person_ref ~ '^[0-9a-f]{64}$'),
    municipality_code text NOT NULL REFERENCES municipalities (code),
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_municipality ON staff (municipality_code);
