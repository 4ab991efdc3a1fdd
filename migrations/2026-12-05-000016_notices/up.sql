-- Notices to people and associations (issue 27, part 4): written in the transaction of the
-- change they tell of, delivered at least once by the server's worker, retried with backoff.
-- The id is the Message-ID's local part, so a retry after an unknown outcome carries the same
-- Message-ID and the receiver sees one message. What a delivered notice said (its recipient
-- and fields) is cleared when it is sent: the row keeps only that a notice went out.
CREATE TABLE notices (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('registration_decided')),
    channel text NOT NULL CHECK (channel IN ('email')),
    recipient text NOT NULL CHECK (length(recipient) <= 320),
    data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    created_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error text CHECK (last_error IS NULL OR length(last_error) <= 1000),
    sent_at timestamptz,
    CONSTRAINT delivered_notices_hold_no_personal_data CHECK (sent_at IS NULL OR (recipient = '' AND data = '{}'))
);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE sent_at IS NULL;
