-- Disputes and chargebacks (issue 14; tribble-rest-api.md "Disputes & Chargebacks"): the
-- functions over payments/disputes_tables.sql.
--
--   open      the payment's customer, within the dispute window after the payment completed
--             (else WL101 DISPUTE_EXPIRED), for what was not refunded yet; one dispute per
--             payment (WL102); dispute:created to both parties.
--   evidence  the customer, the merchant (until its response deadline) or an admin add file
--             references and statements; the first submission after the opening starts the
--             investigation (INVESTIGATING); the merchant's latest statement is its response.
--   resolve   an admin: APPROVED posts a chargeback, one CHARGEBACK journal from the
--             merchant's account (forced: it may go below its floor, the merchant then owes the
--             platform) to the customer's wallet, or to the card partner's settlement account
--             for a card payment (the card network takes it back from the acquirer), recorded
--             as a COMPLETED refund of the payment; REJECTED moves nothing.
--
-- Must never: move money other than through the ledger core; let a chargeback and the
-- payment's refunds together exceed the payment (the payment's row is locked, refunded_minor
-- counts both); store an evidence file (only its reference).
--
-- Locking: the payment's row, then the dispute's (payment_refund takes the payment's row too).

-- The dispute window and the merchant's response time (pg_wallet.dispute_window_days and
-- pg_wallet.dispute_response_days, src/settings.c; their defaults when the library has not
-- defined them in this session yet).
CREATE OR REPLACE FUNCTION pg_wallet._dispute_days(setting text)
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN make_interval(days => coalesce(nullif(current_setting('pg_wallet.' || setting, true),
		'')::integer, CASE setting WHEN 'dispute_window_days' THEN 120 ELSE 10 END));
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_days(text) IS
	'Internal: the setting dispute_window_days or dispute_response_days as an interval.';

-- A dispute, its payment and the caller's part in it: customer, merchant (who acts for the
-- payment's merchant) or admin; WL100 for anyone else and an unknown dispute alike. Locked
-- (the payment's row, then the dispute's) when asked.
CREATE OR REPLACE FUNCTION pg_wallet._dispute_for(dispute_id text, principal_id uuid,
	p_lock boolean, OUT d pg_wallet.disputes, OUT p pg_wallet.payments, OUT party text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
BEGIN
	IF length(dispute_id) <= 64 THEN
		SELECT * INTO d FROM pg_wallet.disputes x WHERE x.dispute_ref = dispute_id;
	END IF;
	IF d.id IS NOT NULL THEN
		SELECT * INTO STRICT p FROM pg_wallet.payments x WHERE x.id = d.payment_id;
		party := CASE WHEN me.owner_id = p.customer_owner_id THEN 'customer'
			WHEN pg_wallet._merchant_agent(me, p.merchant_owner_id) THEN 'merchant'
			WHEN me.role = 'admin' THEN 'admin' END;
	END IF;
	IF party IS NULL THEN
		RAISE EXCEPTION 'dispute not found' USING ERRCODE = 'WL100';
	END IF;
	IF p_lock THEN
		SELECT * INTO STRICT p FROM pg_wallet.payments x WHERE x.id = p.id FOR UPDATE;
		SELECT * INTO STRICT d FROM pg_wallet.disputes x WHERE x.id = d.id FOR UPDATE;
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_for(text, uuid, boolean) IS
	'Internal: a dispute, its payment and the caller''s party (customer, merchant, admin), '
	'locked when asked; WL100 "dispute not found" for an unknown one and another''s alike.';

-- What the investigation block says of where a dispute stands.
CREATE OR REPLACE FUNCTION pg_wallet._dispute_notes(d pg_wallet.disputes)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE
		WHEN d.status = 'RESOLVED' THEN 'Resolved: ' || d.resolution
		WHEN d.merchant_responded_at IS NOT NULL THEN 'Merchant responded; awaiting resolution'
		WHEN now() > d.response_due_at THEN
			'Merchant response deadline passed; awaiting resolution'
		ELSE 'Awaiting merchant response' END;
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_notes(pg_wallet.disputes) IS
	'Internal: the investigation notes of a dispute (awaiting the merchant, responded, '
	'deadline passed, resolved).';

CREATE OR REPLACE FUNCTION pg_wallet._dispute_json(d pg_wallet.disputes, p pg_wallet.payments)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.refunds;
BEGIN
	IF d.refund_id IS NOT NULL THEN
		SELECT * INTO STRICT r FROM pg_wallet.refunds x WHERE x.id = d.refund_id;
	END IF;
	RETURN jsonb_build_object('disputeId', d.dispute_ref, 'transactionId', p.transaction_ref,
		'customerId', p.customer_principal_id, 'merchantId', p.merchant_principal_id,
		'reason', d.reason, 'description', d.description,
		'amount', pg_wallet.amount_format(d.amount_minor, d.currency), 'currency', d.currency,
		'status', d.status, 'resolution', d.resolution,
		'deadline', pg_wallet._ts_iso(d.due_at), 'createdAt', pg_wallet._ts_iso(d.created_at),
		'evidence', coalesce((SELECT jsonb_agg(jsonb_build_object('evidenceId', e.evidence_ref,
				'type', e.type, 'fileId', e.file_id, 'fileUrl', e.file_url,
				'fileSize', e.file_size, 'description', e.description,
				'submittedBy', e.party, 'uploadedAt', pg_wallet._ts_iso(e.created_at))
				ORDER BY e.id)
			FROM pg_wallet.dispute_evidence e WHERE e.dispute_id = d.id), '[]'),
		'investigation', jsonb_build_object(
			'startedAt', pg_wallet._ts_iso(d.investigation_started_at),
			'merchantResponseDeadline', pg_wallet._ts_iso(d.response_due_at),
			'merchantResponse', d.merchant_response,
			'merchantRespondedAt', pg_wallet._ts_iso(d.merchant_responded_at),
			'notes', pg_wallet._dispute_notes(d)),
		'resolvedAt', pg_wallet._ts_iso(d.resolved_at), 'resolutionNotes', d.resolution_notes,
		'refundId', r.refund_ref,
		'refundAmount', CASE WHEN r.id IS NOT NULL
			THEN pg_wallet.amount_format(r.amount_minor, r.currency) END);
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_json(pg_wallet.disputes, pg_wallet.payments) IS
	'Internal: GET /disputes/:id''s shape: the dispute, its evidence (oldest first), the '
	'investigation {startedAt, merchantResponseDeadline, merchantResponse, '
	'merchantRespondedAt, notes} and the resolution (resolvedAt, resolutionNotes, refundId, '
	'refundAmount).';

-- One file reference of a submission: a string (its fileId) or {fileId, url, type, size}.
-- Returns the normalised object, or 22023 naming the field.
CREATE OR REPLACE FUNCTION pg_wallet._dispute_file(f jsonb, field text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o jsonb := CASE jsonb_typeof(f) WHEN 'string' THEN jsonb_build_object('fileId', f)
		WHEN 'object' THEN f END;
BEGIN
	IF o IS NULL OR jsonb_typeof(o -> 'fileId') IS DISTINCT FROM 'string'
		OR (o ->> 'fileId') !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' THEN
		RAISE EXCEPTION '% must be file ids (1 to 100 letters, digits, ".", "_" or "-") or '
			'objects {fileId, url, type, size}', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF o ? 'url' AND (jsonb_typeof(o -> 'url') <> 'string'
		OR (o ->> 'url') !~ '^https://[^[:space:]]+$' OR length(o ->> 'url') > 500) THEN
		RAISE EXCEPTION '%: url must be an https URL of at most 500 characters', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF o ? 'type' AND (jsonb_typeof(o -> 'type') <> 'string' OR NOT (o ->> 'type' = ANY (ARRAY[
		'proof_of_order', 'proof_of_delivery', 'receipt', 'communication', 'refund_policy',
		'photo', 'bank_statement', 'other']))) THEN
		RAISE EXCEPTION '%: type must be proof_of_order, proof_of_delivery, receipt, '
			'communication, refund_policy, photo, bank_statement or other', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF o ? 'size' AND (jsonb_typeof(o -> 'size') <> 'number'
		OR (o ->> 'size') !~ '^[0-9]{1,8}$' OR (o ->> 'size')::bigint > 26214400) THEN
		RAISE EXCEPTION '%: size must be a whole number of bytes, at most 25 MiB', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	RETURN o;
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_file(jsonb, text) IS
	'Internal: one evidence file reference (a fileId string, or {fileId, url (https), type, '
	'size (bytes, at most 25 MiB)}) checked and as an object; 22023 naming the field.';

-- Add a submission of evidence to a dispute (locked, open): one row per file, or one for a
-- statement without files. The first submission after the opening (field files: POST
-- /disputes/:id/evidence) starts the investigation; the merchant's is its response. The
-- opening's evidenceFiles leave it OPEN. Returns {count, size}.
CREATE OR REPLACE FUNCTION pg_wallet._dispute_evidence_add(d pg_wallet.disputes, me uuid,
	party text, files jsonb, statement text, field text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f jsonb;
	n integer := 0;
	size bigint := 0;
BEGIN
	files := coalesce(files, '[]');
	IF jsonb_typeof(files) <> 'array' OR jsonb_array_length(files) > 10 THEN
		RAISE EXCEPTION '% must be an array of at most 10 file references', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF length(statement) > 1000 THEN
		RAISE EXCEPTION 'description must be at most 1000 characters'
			USING ERRCODE = 'string_data_right_truncation', COLUMN = 'description';
	END IF;
	statement := nullif(btrim(statement), '');
	IF jsonb_array_length(files) = 0 AND statement IS NULL THEN
		IF field = 'evidenceFiles' THEN
			RETURN jsonb_build_object('count', 0, 'size', 0);
		END IF;
		RAISE EXCEPTION 'evidence needs files or a description'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF (SELECT count(*) FROM pg_wallet.dispute_evidence e WHERE e.dispute_id = d.id)
		+ greatest(jsonb_array_length(files), 1) > 50 THEN
		RAISE EXCEPTION 'a dispute holds at most 50 pieces of evidence'
			USING ERRCODE = 'program_limit_exceeded', COLUMN = field;
	END IF;
	FOR f IN SELECT pg_wallet._dispute_file(x, field) FROM jsonb_array_elements(files) x LOOP
		INSERT INTO pg_wallet.dispute_evidence (evidence_ref, dispute_id, submitted_by, party,
			type, file_id, file_url, file_size, description)
		VALUES ('EVD-' || pg_wallet._padded(nextval(pg_get_serial_sequence(
				'pg_wallet.dispute_evidence', 'id')), 6), d.id, me, party, coalesce(f ->> 'type', 'other'),
			f ->> 'fileId', f ->> 'url', (f ->> 'size')::bigint, statement);
		n := n + 1;
		size := size + coalesce((f ->> 'size')::bigint, 0);
	END LOOP;
	IF n = 0 THEN	-- a statement
		INSERT INTO pg_wallet.dispute_evidence (evidence_ref, dispute_id, submitted_by, party,
			type, description)
		VALUES ('EVD-' || pg_wallet._padded(nextval(pg_get_serial_sequence(
				'pg_wallet.dispute_evidence', 'id')), 6), d.id, me, party, 'other', statement);
	END IF;
	IF field = 'evidenceFiles' THEN	-- the opening's own files: still OPEN, as the spec shows
		RETURN jsonb_build_object('count', n, 'size', size);
	END IF;
	UPDATE pg_wallet.disputes x
	SET status = 'INVESTIGATING',
		investigation_started_at = coalesce(x.investigation_started_at, now()),
		merchant_response = CASE WHEN party = 'merchant'
			THEN coalesce(statement, format('Evidence submitted (%s files)', n))
			ELSE x.merchant_response END,
		merchant_responded_at = CASE WHEN party = 'merchant' THEN now()
			ELSE x.merchant_responded_at END
	WHERE x.id = d.id;
	RETURN jsonb_build_object('count', n, 'size', size);
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_evidence_add(pg_wallet.disputes, uuid, text, jsonb, text,
	text) IS
	'Internal: record a submission of evidence (at most 10 files, 50 pieces per dispute, a '
	'description of at most 1000 characters) on a locked, unresolved dispute: INVESTIGATING '
	'from the first after the opening; the merchant''s is its response. Returns {count, '
	'size}.';

-- dispute:created to the customer and the merchant (and the user who registered it).
CREATE OR REPLACE FUNCTION pg_wallet._dispute_events(d pg_wallet.disputes, p pg_wallet.payments)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	owners bigint[] := ARRAY[p.customer_owner_id, p.merchant_owner_id];
	principals uuid[] := ARRAY[d.opened_by, p.merchant_principal_id];
	agent pg_wallet.principals;
BEGIN
	SELECT u.* INTO agent FROM pg_wallet.merchants m
		JOIN pg_wallet.principals u ON u.id = m.registered_by
	WHERE m.owner_id = p.merchant_owner_id;
	IF agent.id IS NOT NULL AND agent.owner_id <> ALL (owners) THEN
		owners := owners || agent.owner_id;
		principals := principals || agent.id;
	END IF;
	PERFORM pg_wallet._events_enqueue(owners, 'dispute:created',
		jsonb_build_object('disputeId', d.dispute_ref, 'transactionId', p.transaction_ref,
			'reason', d.reason, 'amount', pg_wallet.amount_format(d.amount_minor, d.currency),
			'currency', d.currency, 'deadline', to_char(d.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
			'timestamp', pg_wallet._ts_iso(d.created_at)),
		principals);
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_events(pg_wallet.disputes, pg_wallet.payments) IS
	'Internal: dispute:created {disputeId, transactionId, reason, amount, currency, deadline '
	'(a date), timestamp} to the customer, the merchant and the user who registered it.';

-- What POST /transactions/:id/dispute answers.
CREATE OR REPLACE FUNCTION pg_wallet._dispute_answer(d pg_wallet.disputes, p pg_wallet.payments,
	replayed boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('disputeId', d.dispute_ref, 'transactionId', p.transaction_ref,
		'reason', d.reason, 'amount', pg_wallet.amount_format(d.amount_minor, d.currency),
		'currency', d.currency, 'status', d.status, 'deadline', pg_wallet._ts_iso(d.due_at),
		'merchantResponseDeadline', pg_wallet._ts_iso(d.response_due_at),
		'createdAt', pg_wallet._ts_iso(d.created_at), 'replayed', replayed,
		'message', format('Dispute created successfully. Merchant has %s days to respond.',
			extract(day FROM pg_wallet._dispute_days('dispute_response_days'))));
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_answer(pg_wallet.disputes, pg_wallet.payments, boolean) IS
	'Internal: dispute_open''s answer.';

CREATE OR REPLACE FUNCTION pg_wallet.dispute_open(
	transaction_id text,
	principal_id uuid,
	reason text,
	description text DEFAULT NULL,
	evidence_files jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	p pg_wallet.payments;
	d pg_wallet.disputes;
	hash bytea;
	respond interval := pg_wallet._dispute_days('dispute_response_days');
BEGIN
	-- the payment's row, locked: refunds and the dispute's amount read the same refunded total
	p := pg_wallet._payment_for(transaction_id, principal_id, false, true);
	IF me.owner_id <> p.customer_owner_id THEN
		RAISE EXCEPTION 'only the payment''s customer may dispute it' USING ERRCODE = 'WL103';
	END IF;
	IF reason IS NULL OR NOT (reason = ANY (ARRAY['product_not_received',
		'product_not_as_described', 'unauthorized', 'duplicate_charge', 'incorrect_amount',
		'cancelled_subscription', 'credit_not_processed', 'other'])) THEN
		RAISE EXCEPTION 'reason must be product_not_received, product_not_as_described, '
			'unauthorized, duplicate_charge, incorrect_amount, cancelled_subscription, '
			'credit_not_processed or other' USING ERRCODE = 'invalid_parameter_value',
			COLUMN = 'reason';
	END IF;
	IF length(description) > 1000 THEN
		RAISE EXCEPTION 'description must be at most 1000 characters'
			USING ERRCODE = 'string_data_right_truncation', COLUMN = 'description';
	END IF;
	description := nullif(btrim(description), '');
	hash := sha256(convert_to(concat_ws('|', 'dispute', p.id, reason, description,
		coalesce(evidence_files, '[]')::text), 'UTF8'));
	SELECT * INTO d FROM pg_wallet.disputes x WHERE x.payment_id = p.id;
	IF d.id IS NOT NULL THEN
		IF d.opened_by = me.id AND d.request_hash = hash THEN
			RETURN pg_wallet._dispute_answer(d, p, true);
		END IF;
		RAISE EXCEPTION 'transaction % is already disputed (%)', p.transaction_ref,
			d.dispute_ref USING ERRCODE = 'WL102';
	END IF;
	IF p.status <> 'SUCCESS' THEN
		RAISE EXCEPTION 'payment % is % and cannot be disputed', p.transaction_ref, p.status
			USING ERRCODE = 'WL105';
	END IF;
	IF p.refunded_minor >= p.amount_minor THEN
		RAISE EXCEPTION 'payment % is refunded in full: nothing to dispute', p.transaction_ref
			USING ERRCODE = 'WL105';
	END IF;
	IF now() > p.completed_at + pg_wallet._dispute_days('dispute_window_days') THEN
		RAISE EXCEPTION 'the dispute window of payment % closed on %', p.transaction_ref,
			pg_wallet._ts_iso(p.completed_at + pg_wallet._dispute_days('dispute_window_days'))
			USING ERRCODE = 'WL101';
	END IF;
	INSERT INTO pg_wallet.disputes (dispute_ref, payment_id, opened_by, merchant_owner_id,
		reason, description, amount_minor, currency, request_hash, response_due_at, due_at)
	VALUES (pg_wallet._dated_ref('DSP', nextval(pg_get_serial_sequence('pg_wallet.disputes',
			'id'))),
		p.id, me.id, p.merchant_owner_id, reason, description,
		p.amount_minor - p.refunded_minor, p.currency, hash, now() + respond,
		now() + 3 * respond)
	RETURNING * INTO d;
	PERFORM pg_wallet._dispute_evidence_add(d, me.id, 'customer', evidence_files, NULL,
		'evidenceFiles');
	SELECT * INTO STRICT d FROM pg_wallet.disputes x WHERE x.id = d.id;
	PERFORM pg_wallet._dispute_events(d, p);
	RETURN pg_wallet._dispute_answer(d, p, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.dispute_open(text, uuid, text, text, jsonb) IS
	'Tribble POST /transactions/:transactionId/dispute: the payment''s customer (WL103 for its '
	'merchant; WL088 for anyone else) disputes a SUCCESS payment (WL105 otherwise, or when it '
	'is refunded in full) within pg_wallet.dispute_window_days of its completion (WL101 '
	'DISPUTE_EXPIRED after) for the amount not refunded yet: reason (product_not_received, '
	'product_not_as_described, unauthorized, duplicate_charge, incorrect_amount, '
	'cancelled_subscription, credit_not_processed, other), description (at most 1000), '
	'evidence_files (at most 10 file references; it stays OPEN until evidence is added). One '
	'dispute per payment (WL102; the same request again replays it). The merchant answers '
	'within pg_wallet.dispute_response_days, the deadline is three times that. '
	'dispute:created to both parties. Returns disputeId, transactionId, reason, amount, '
	'currency, status, deadline, merchantResponseDeadline, createdAt, replayed, message.';

CREATE OR REPLACE FUNCTION pg_wallet.dispute_evidence_add(
	dispute_id text,
	principal_id uuid,
	files jsonb,
	description text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	x record := pg_wallet._dispute_for(dispute_id, principal_id, true);
	added jsonb;
BEGIN
	IF (x.d).status = 'RESOLVED' THEN
		RAISE EXCEPTION 'dispute % is resolved: it takes no more evidence', (x.d).dispute_ref
			USING ERRCODE = 'WL104';
	END IF;
	IF x.party = 'merchant' AND now() > (x.d).response_due_at THEN
		RAISE EXCEPTION 'the merchant''s response deadline of dispute % passed at %',
			(x.d).dispute_ref, pg_wallet._ts_iso((x.d).response_due_at) USING ERRCODE = 'WL104';
	END IF;
	added := pg_wallet._dispute_evidence_add(x.d, principal_id, x.party, files, description,
		'files');
	RETURN jsonb_build_object('disputeId', (x.d).dispute_ref,
		'evidenceCount', (added -> 'count')::integer, 'totalFileSize', (added -> 'size')::bigint,
		'totalEvidence', (SELECT count(*) FROM pg_wallet.dispute_evidence e
			WHERE e.dispute_id = (x.d).id),
		'status', 'INVESTIGATING', 'submittedBy', x.party,
		'uploadedAt', pg_wallet._ts_iso(now()), 'message', 'Evidence uploaded successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.dispute_evidence_add(text, uuid, jsonb, text) IS
	'Tribble POST /disputes/:disputeId/evidence: the customer, the merchant (until its '
	'response deadline) or an admin adds evidence to an unresolved dispute (WL104 otherwise): '
	'files (at most 10 references: a fileId, or {fileId, url, type, size}) and/or a '
	'description (at most 1000); the merchant''s is its response. At most 50 pieces per '
	'dispute (54000). WL100 for anyone else. Returns disputeId, evidenceCount (files of this '
	'submission), totalFileSize (their declared bytes), totalEvidence, status, submittedBy, '
	'uploadedAt, message.';

CREATE OR REPLACE FUNCTION pg_wallet.dispute_get(dispute_id text, principal_id uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	x record := pg_wallet._dispute_for(dispute_id, principal_id, false);
BEGIN
	RETURN pg_wallet._dispute_json(x.d, x.p);
END
$$;
COMMENT ON FUNCTION pg_wallet.dispute_get(text, uuid) IS
	'Tribble GET /disputes/:disputeId: a dispute for its customer, its merchant and admins '
	'(WL100 for anyone else): disputeId, transactionId, customerId, merchantId, reason, '
	'description, amount, currency, status, resolution, deadline, createdAt, evidence '
	'[{evidenceId, type, fileId, fileUrl, fileSize, description, submittedBy, uploadedAt}], '
	'investigation {startedAt, merchantResponseDeadline, merchantResponse, '
	'merchantRespondedAt, notes}, resolvedAt, resolutionNotes, refundId, refundAmount.';

-- An APPROVED dispute's chargeback (the payment and the dispute locked, the amount checked):
-- the COMPLETED refund row and its CHARGEBACK journal, forced past the merchant's floor.
CREATE OR REPLACE FUNCTION pg_wallet._dispute_chargeback(d pg_wallet.disputes,
	p pg_wallet.payments, v_minor bigint, admin_id uuid, hash bytea)
RETURNS pg_wallet.refunds
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.refunds;
	new_id bigint;
	ref text;
	amount numeric := pg_wallet.amount_format(v_minor, p.currency);
	counterpart text;
	jid bigint;
BEGIN
	SELECT x.id, x.ref INTO new_id, ref FROM pg_wallet._refund_new_ref() x;
	-- a card payment's money goes back through the card network: it takes it from the
	-- acquirer's settlement (the partner's settlement account); a wallet payment's to the wallet
	IF p.payment_method = 'card' THEN
		counterpart := pg_wallet._settlement_account((SELECT c.partner_id
			FROM pg_wallet.card_payments c WHERE c.payment_id = p.id), p.currency);
	ELSE
		SELECT a.account_number INTO STRICT counterpart FROM pg_wallet.accounts a
		WHERE a.id = p.account_id;
	END IF;
	jid := (pg_wallet._post_journal_forced('CHARGEBACK', jsonb_build_array(
			jsonb_build_object('account', (SELECT a.account_number FROM pg_wallet.accounts a
				WHERE a.id = p.merchant_account_id), 'side', 'DR', 'amount', amount),
			jsonb_build_object('account', counterpart, 'side', 'CR', 'amount', amount)),
		'chargeback:' || ref, left(format('Chargeback %s of %s (dispute %s)', ref,
			p.transaction_ref, d.dispute_ref), 500),
		jsonb_build_object('payment', p.transaction_ref, 'refund', ref,
			'dispute', d.dispute_ref))).journal_id;
	INSERT INTO pg_wallet.refunds (id, refund_ref, payment_id, amount_minor, currency, status,
		reason, description, requested_by, request_hash, journal_id)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, ref, p.id, v_minor, p.currency, 'COMPLETED', 'chargeback',
		left('Chargeback of dispute ' || d.dispute_ref, 200), admin_id, hash, jid)
	RETURNING * INTO r;
	UPDATE pg_wallet.payments x SET refunded_minor = x.refunded_minor + v_minor
	WHERE x.id = p.id;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_chargeback(pg_wallet.disputes, pg_wallet.payments, bigint,
	uuid, bytea) IS
	'Internal: post an APPROVED dispute''s chargeback: one CHARGEBACK journal from the '
	'merchant''s account (below its floor if need be) to the customer''s wallet, or to the '
	'card partner''s settlement account for a card payment, recorded as a COMPLETED refund '
	'(reason chargeback) counted in the payment''s refunded total.';

CREATE OR REPLACE FUNCTION pg_wallet.dispute_resolve(
	dispute_id text,
	principal_id uuid,
	resolution text,
	refund_amount numeric DEFAULT NULL,
	notes text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	x record;
	d pg_wallet.disputes;
	p pg_wallet.payments;
	r pg_wallet.refunds;
	hash bytea;
	remaining bigint;
	v_amount bigint;
BEGIN
	IF me.role IS DISTINCT FROM 'admin' THEN
		RAISE EXCEPTION 'only an admin resolves disputes' USING ERRCODE = 'WL031';
	END IF;
	IF resolution IS NULL OR resolution NOT IN ('APPROVED', 'REJECTED') THEN
		RAISE EXCEPTION 'resolution must be APPROVED or REJECTED'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'resolution';
	END IF;
	IF resolution = 'REJECTED' AND refund_amount IS NOT NULL THEN
		RAISE EXCEPTION 'a REJECTED dispute refunds nothing: leave refundAmount out'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'refundAmount';
	END IF;
	IF refund_amount IS NOT NULL AND refund_amount <= 0 THEN
		RAISE EXCEPTION 'Amount must be greater than 0' USING ERRCODE = 'WL010',
			COLUMN = 'refundAmount';
	END IF;
	IF length(notes) NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'notes must be 1 to 1000 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'notes';
	END IF;
	x := pg_wallet._dispute_for(dispute_id, principal_id, true);
	d := x.d;
	p := x.p;
	hash := sha256(convert_to(concat_ws('|', 'resolution', d.id, resolution,
		coalesce(refund_amount::text, 'all'), notes), 'UTF8'));
	IF d.status = 'RESOLVED' THEN
		IF d.resolved_by = me.id AND d.resolution = resolution
			AND d.resolution_notes IS NOT DISTINCT FROM notes
			AND (d.refund_id IS NULL OR (SELECT y.request_hash FROM pg_wallet.refunds y
				WHERE y.id = d.refund_id) = hash) THEN
			RETURN pg_wallet._dispute_resolution_answer(d, p, true);
		END IF;
		RAISE EXCEPTION 'dispute % is already resolved (%)', d.dispute_ref, d.resolution
			USING ERRCODE = 'WL104';
	END IF;
	IF resolution = 'APPROVED' THEN
		remaining := p.amount_minor - p.refunded_minor;
		v_amount := coalesce(pg_wallet.amount_parse(refund_amount, p.currency),
			least(d.amount_minor, remaining));
		IF remaining = 0 THEN
			RAISE EXCEPTION 'payment % is refunded in full: nothing to charge back',
				p.transaction_ref USING ERRCODE = 'WL090';
		END IF;
		IF v_amount > least(d.amount_minor, remaining) THEN
			RAISE EXCEPTION 'refundAmount % % exceeds the % % that the dispute can charge back',
				pg_wallet.amount_format(v_amount, p.currency), p.currency,
				pg_wallet.amount_format(least(d.amount_minor, remaining), p.currency), p.currency
				USING ERRCODE = 'WL090', COLUMN = 'refundAmount';
		END IF;
		r := pg_wallet._dispute_chargeback(d, p, v_amount, me.id, hash);
	END IF;
	UPDATE pg_wallet.disputes y
	SET status = 'RESOLVED', resolution = dispute_resolve.resolution,
		resolution_notes = notes, resolved_by = me.id, resolved_at = now(), refund_id = r.id,
		investigation_started_at = coalesce(y.investigation_started_at, now())
	WHERE y.id = d.id
	RETURNING * INTO d;
	RETURN pg_wallet._dispute_resolution_answer(d, p, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.dispute_resolve(text, uuid, text, numeric, text) IS
	'Tribble PUT /disputes/:disputeId/resolution (admins only: WL031): APPROVED charges back '
	'refund_amount (default: the disputed amount, at most what remains refundable: WL090) '
	'against the merchant (_dispute_chargeback: its balance may go below its floor); REJECTED '
	'moves nothing. notes 1-1000. WL104 once resolved (the same resolution again by the same '
	'admin replays it). Returns disputeId, status RESOLVED, resolution, refundId, '
	'refundAmount, resolvedAt, replayed, message.';

CREATE OR REPLACE FUNCTION pg_wallet._dispute_resolution_answer(d pg_wallet.disputes,
	p pg_wallet.payments, replayed boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.refunds;
BEGIN
	SELECT * INTO r FROM pg_wallet.refunds x WHERE x.id = d.refund_id;
	RETURN jsonb_build_object('disputeId', d.dispute_ref, 'transactionId', p.transaction_ref,
		'status', d.status, 'resolution', d.resolution, 'refundId', r.refund_ref,
		'refundAmount', pg_wallet.amount_format(r.amount_minor, r.currency),
		'currency', d.currency,
		'notes', d.resolution_notes, 'resolvedAt', pg_wallet._ts_iso(d.resolved_at),
		'replayed', replayed,
		'message', CASE d.resolution WHEN 'APPROVED'
			THEN 'Dispute resolved and refund initiated'
			ELSE 'Dispute resolved: rejected, nothing refunded' END);
END
$$;
COMMENT ON FUNCTION pg_wallet._dispute_resolution_answer(pg_wallet.disputes,
	pg_wallet.payments, boolean) IS
	'Internal: dispute_resolve''s answer.';
