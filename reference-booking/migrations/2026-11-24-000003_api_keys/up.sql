-- The backend's own principals (issue 9): API keys with a role, stored as salted hashes.
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    prefix text NOT NULL UNIQUE CHECK (prefix ~ '^[0-9a-f]{8}$'),
    secret_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('customer', 'association', 'case_officer', 'caretaker', 'registry', 'admin')),
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
