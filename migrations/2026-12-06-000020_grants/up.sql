-- Grants (föreningsbidrag, issue 29): a municipality's programmes with their rules as data;
-- associations' applications with attachments and attendance lists; the case officer's
-- assessment and the decision (by delegation or in committee); payment orders attested by a
-- second person, paid by an ISO 20022 pain.001 file; the ledger of what was paid.
CREATE TABLE grant_programmes (
    id uuid PRIMARY KEY,
    municipality_code text NOT NULL REFERENCES municipalities (code),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    -- activity (aktivitetsstöd, per participant-occasion from attendance lists), basic
    -- (grundbidrag, per member in an age band from the year's member statistics) or
    -- application (projects, events, running costs: decided case by case).
    kind text NOT NULL CHECK (kind IN ('activity', 'basic', 'application')),
    rules jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
    -- The activity period a grant is for (attendance dates lie in it).
    period_from date NOT NULL,
    period_to date NOT NULL CHECK (period_to >= period_from AND period_to <= period_from + 372),
    applications_open timestamptz NOT NULL,
    applications_close timestamptz NOT NULL CHECK (applications_close > applications_open),
    budget_minor bigint NOT NULL CHECK (budget_minor >= 0),
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grant_programmes_municipality ON grant_programmes (municipality_code, period_from DESC);

CREATE TABLE grant_applications (
    id uuid PRIMARY KEY,
    programme_id uuid NOT NULL REFERENCES grant_programmes (id),
    association_id uuid NOT NULL REFERENCES associations (id),
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'submitted', 'completion_requested', 'withdrawn', 'approved', 'rejected')),
    title text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    requested_minor bigint CHECK (requested_minor IS NULL OR requested_minor >= 0),
    -- The association's account for the payout: {kind, number} or {kind: iban, iban, bic}.
    payee jsonb CHECK (payee IS NULL OR jsonb_typeof(payee) = 'object'),
    -- What the programme's rules give: the attendance lists' sum, or the member statistics'.
    computed_minor bigint NOT NULL DEFAULT 0 CHECK (computed_minor >= 0),
    computation jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(computation) = 'object'),
    completion_message text,
    assessment jsonb CHECK (assessment IS NULL OR jsonb_typeof(assessment) = 'object'),
    decision jsonb CHECK (decision IS NULL OR jsonb_typeof(decision) = 'object'),
    CHECK ((status IN ('approved', 'rejected')) = (decision IS NOT NULL)),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    submitted_at timestamptz,
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grant_applications_programme ON grant_applications (programme_id, status, created_at);
CREATE INDEX grant_applications_association ON grant_applications (association_id);

-- Attachments: their metadata here, their content in a table of its own (never in an
-- application's row, stored out of line by PostgreSQL), in the same transaction.
CREATE TABLE grant_attachments (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES grant_applications (id) ON DELETE CASCADE,
    file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type text NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes > 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_by text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX grant_attachments_application ON grant_attachments (application_id, created_at);
CREATE TABLE grant_attachment_contents (
    attachment_id uuid PRIMARY KEY REFERENCES grant_attachments (id) ON DELETE CASCADE,
    content bytea NOT NULL
);
ALTER TABLE grant_attachment_contents ALTER COLUMN content SET STORAGE EXTERNAL;

-- Attendance lists of activity-grant applications: counts and the compact report only (never
-- a personal identity number), and each occasion with what counted.
CREATE TABLE grant_attendance_lists (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES grant_applications (id) ON DELETE CASCADE,
    file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    rows_total integer NOT NULL CHECK (rows_total >= 0),
    occasions integer NOT NULL CHECK (occasions >= 0),
    occasions_counted integer NOT NULL CHECK (occasions_counted >= 0),
    participant_occasions integer NOT NULL CHECK (participant_occasions >= 0),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    report jsonb NOT NULL CHECK (jsonb_typeof(report) = 'object'),
    uploaded_by text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX grant_attendance_lists_application ON grant_attendance_lists (application_id, created_at);
CREATE TABLE grant_occasions (
    list_id uuid NOT NULL REFERENCES grant_attendance_lists (id) ON DELETE CASCADE,
    programme_id uuid NOT NULL REFERENCES grant_programmes (id),
    association_id uuid NOT NULL REFERENCES associations (id),
    occasion_key text NOT NULL,
    date date NOT NULL,
    start_minute smallint NOT NULL,
    end_minute smallint NOT NULL,
    group_name text NOT NULL,
    counted boolean NOT NULL,
    reason text,
    participants integer NOT NULL,
    leaders integer NOT NULL,
    amount_minor bigint NOT NULL,
    PRIMARY KEY (list_id, occasion_key)
);
-- The same occasion is counted once per programme and association, whichever list has it.
CREATE UNIQUE INDEX grant_occasions_counted_once ON grant_occasions (programme_id, association_id, occasion_key) WHERE counted;

-- Payment orders: prepared by one person, attested by another, then paid by the file.
CREATE TABLE grant_payment_orders (
    id uuid PRIMARY KEY,
    municipality_code text NOT NULL REFERENCES municipalities (code),
    status text NOT NULL DEFAULT 'prepared' CHECK (status IN ('prepared', 'attested', 'cancelled')),
    execution_date date NOT NULL,
    -- The paying municipality: name, organisation number, account.
    debtor jsonb NOT NULL CHECK (jsonb_typeof(debtor) = 'object'),
    message_id text NOT NULL UNIQUE CHECK (length(message_id) BETWEEN 1 AND 35),
    total_minor bigint NOT NULL CHECK (total_minor > 0),
    payments integer NOT NULL CHECK (payments > 0),
    prepared_by text NOT NULL,
    prepared_at timestamptz NOT NULL,
    attested_by text,
    attested_at timestamptz,
    CHECK ((status = 'attested') = (attested_by IS NOT NULL)),
    CHECK (attested_by IS NULL OR attested_by <> prepared_by),
    file_sha256 text,
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grant_payment_orders_municipality ON grant_payment_orders (municipality_code, prepared_at DESC);

-- The ledger: one payment per approved application, in one order (a cancelled order's
-- payments are removed with it and may be ordered again).
CREATE TABLE grant_payments (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES grant_payment_orders (id) ON DELETE CASCADE,
    application_id uuid NOT NULL UNIQUE REFERENCES grant_applications (id),
    programme_id uuid NOT NULL REFERENCES grant_programmes (id),
    association_id uuid NOT NULL REFERENCES associations (id),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    account jsonb NOT NULL CHECK (jsonb_typeof(account) = 'object'),
    end_to_end_id text NOT NULL UNIQUE CHECK (length(end_to_end_id) BETWEEN 1 AND 35),
    remittance text NOT NULL CHECK (length(remittance) <= 140),
    paid_on date
);
CREATE INDEX grant_payments_order ON grant_payments (order_id);

ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check
    CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor', 'allocation_round', 'allocation_application',
                      'allocation_match', 'grant_programme', 'grant_application', 'grant_payment_order'));

-- Notices to the association: a completion request and the decision on its application.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('registration_decided', 'booking_update', 'booking_reminder', 'grant_update'));
