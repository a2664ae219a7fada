-- Disputes and chargebacks (issue 14; tribble-rest-api.md "Disputes & Chargebacks"): tables
-- only; the functions are in payments/disputes.sql.
--
-- A customer disputes a SUCCESS payment within the dispute window (pg_wallet.
-- dispute_window_days after it completed); the merchant answers within
-- pg_wallet.dispute_response_days; both add evidence (references to files kept elsewhere,
-- with descriptions); an admin resolves it: APPROVED posts a chargeback (one CHARGEBACK
-- journal against the merchant, allowed to take its balance below its floor) and records it
-- as a refund of the payment; REJECTED moves nothing. One dispute per payment, ever.

CREATE TABLE pg_wallet.disputes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's disputeId: DSP-<yyyymmdd>-<id>
	dispute_ref text NOT NULL UNIQUE CHECK (length(dispute_ref) BETWEEN 1 AND 64),
	payment_id bigint NOT NULL UNIQUE REFERENCES pg_wallet.payments (id),
	opened_by uuid NOT NULL,			-- the customer's principal that opened it
	merchant_owner_id bigint NOT NULL,	-- the payment's (its merchant's analytics read it)
	reason text NOT NULL CHECK (reason IN ('product_not_received', 'product_not_as_described',
		'unauthorized', 'duplicate_charge', 'incorrect_amount', 'cancelled_subscription',
		'credit_not_processed', 'other')),
	description text CHECK (length(description) BETWEEN 1 AND 1000),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),	-- what was not refunded then
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'INVESTIGATING', 'RESOLVED')),
	request_hash bytea NOT NULL,		-- a retried opening with the same fields is a replay
	response_due_at timestamptz NOT NULL,	-- the merchant's response deadline
	due_at timestamptz NOT NULL,			-- the dispute's deadline (the spec's "deadline")
	investigation_started_at timestamptz,	-- the first evidence on file
	merchant_response text CHECK (length(merchant_response) BETWEEN 1 AND 1000),
	merchant_responded_at timestamptz,
	resolution text CHECK (resolution IN ('APPROVED', 'REJECTED')),
	resolution_notes text CHECK (length(resolution_notes) BETWEEN 1 AND 1000),
	resolved_by uuid,					-- the admin
	resolved_at timestamptz,
	refund_id bigint REFERENCES pg_wallet.refunds (id),	-- an APPROVED one's chargeback
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((status = 'RESOLVED') = (resolution IS NOT NULL)),
	CHECK ((status = 'RESOLVED') = (resolved_at IS NOT NULL AND resolved_by IS NOT NULL)),
	CHECK ((resolution = 'APPROVED') = (refund_id IS NOT NULL)),
	CHECK ((status = 'OPEN') = (investigation_started_at IS NULL)),
	CHECK (due_at > response_due_at AND response_due_at > created_at)
);
-- a merchant's disputes over a period (dashboard and analytics)
CREATE INDEX disputes_merchant_idx ON pg_wallet.disputes (merchant_owner_id, created_at);
COMMENT ON TABLE pg_wallet.disputes IS
	'Disputes of payments by their customers (Tribble POST /transactions/:id/dispute): the '
	'reason, the amount disputed, OPEN, INVESTIGATING (evidence on file) or RESOLVED, the '
	'merchant''s response and its deadline, the admin''s resolution (APPROVED: a chargeback, '
	'refund_id; REJECTED), who and when.';

-- Evidence of a dispute: references to files kept elsewhere (a document store), never the
-- files themselves, with what they show; never updated or deleted.
CREATE TABLE pg_wallet.dispute_evidence (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's evidenceId: EVD-<id>
	evidence_ref text NOT NULL UNIQUE CHECK (length(evidence_ref) BETWEEN 1 AND 64),
	dispute_id bigint NOT NULL REFERENCES pg_wallet.disputes (id),
	submitted_by uuid NOT NULL,
	party text NOT NULL CHECK (party IN ('customer', 'merchant', 'admin')),
	type text NOT NULL CHECK (type IN ('proof_of_order', 'proof_of_delivery', 'receipt',
		'communication', 'refund_policy', 'photo', 'bank_statement', 'other')),
	file_id text CHECK (file_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),	-- NULL: a statement
	file_url text CHECK (file_url ~ '^https://[^[:space:]]+$' AND length(file_url) <= 500),
	file_size bigint CHECK (file_size BETWEEN 0 AND 26214400),	-- bytes, as declared
	description text CHECK (length(description) BETWEEN 1 AND 1000),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (file_id IS NOT NULL OR description IS NOT NULL)
);
CREATE INDEX dispute_evidence_dispute_idx ON pg_wallet.dispute_evidence (dispute_id, id);
COMMENT ON TABLE pg_wallet.dispute_evidence IS
	'Evidence of a dispute (Tribble POST /disputes/:id/evidence, and the evidenceFiles of '
	'its opening): a file reference (id, https URL, declared size) or a statement, its type '
	'and description, the party that gave it, when.';
