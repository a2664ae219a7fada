-- The transactional outbox: rows written in the transaction that decided the call, delivered
-- after its commit by the outbox worker (src/partners/worker_outbox.c, libcurl multi). The worker
-- claims with _outbox_claim, sends with no transaction open, and records each answer with
-- _outbox_complete, which hands it to the adapter (partners/adapters.sql). Operators inspect with
-- outbox_list/outbox_get and act with outbox_retry/outbox_cancel.

-- ---------------------------------------------------------------------------------------
-- C: signing and waking (src/partners/outbox_sign.c, src/partners/outbox_config.c)
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.webhook_signature(
	secret bytea, message_id text, timestamp_s bigint, body text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_webhook_signature'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.webhook_signature(bytea, text, bigint, text) IS
	'Standard Webhooks signature: "v1," and the base64 HMAC-SHA256 of '
	'"{message_id}.{timestamp_s}.{body}" under the secret (the bytes after "whsec_", '
	'base64-decoded).';

CREATE OR REPLACE FUNCTION pg_wallet._webhook_signature_ok(
	secret bytea, message_id text, timestamp_s bigint, body text, signatures text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_webhook_signature_ok'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._webhook_signature_ok(bytea, text, bigint, text, text) IS
	'Internal: whether one of the space-separated "v1,<base64>" values is the message''s '
	'signature (constant-time comparison).';

CREATE OR REPLACE FUNCTION pg_wallet._hmac_sha256(key bytea, data bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_hmac_sha256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._hmac_sha256(bytea, bytea) IS 'Internal: HMAC-SHA256.';

CREATE OR REPLACE FUNCTION pg_wallet._outbox_wake()
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_outbox_wake'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._outbox_wake() IS
	'Internal: wake the outbox worker when the calling transaction commits. WL073 when '
	'pg_wallet is not in shared_preload_libraries (no worker could ever deliver).';

CREATE OR REPLACE FUNCTION pg_wallet.workers_available()
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_workers_available'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet.workers_available() IS
	'Whether pg_wallet was loaded by shared_preload_libraries, so that its outbox and expiry '
	'workers can run.';

-- ---------------------------------------------------------------------------------------
-- Writing and delivering
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet._outbox_enqueue(
	p_partner_id text, p_kind text, p_subject_ref text, p_url text, p_body jsonb,
	p_method text DEFAULT 'POST', p_headers jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	PERFORM pg_wallet._outbox_wake();
	IF p_body IS NOT NULL AND octet_length(p_body::text) > 65536 THEN
		RAISE EXCEPTION 'outbox body is longer than 65536 bytes'
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	INSERT INTO pg_wallet.outbox (message_id, partner_id, kind, subject_ref, method, url,
		headers, body)
	VALUES ('msg_' || replace(gen_random_uuid()::text, '-', ''), p_partner_id, p_kind,
		p_subject_ref, p_method, p_url, coalesce(p_headers, '{}'), p_body)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_enqueue(text, text, text, text, jsonb, text, jsonb) IS
	'Internal: queue an outbound call in the caller''s transaction; the worker is woken at '
	'commit. The body holds no secret (adapters add credentials when it is sent).';

CREATE OR REPLACE FUNCTION pg_wallet._outbox_claim(max_rows integer)
RETURNS TABLE (id bigint, attempt integer, message_id text, method text, url text,
	headers text, body text, secret bytea, timeout_ms integer,
	auth_partner text, auth_url text, auth_basic text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox;
	p pg_wallet.partners;
	s pg_wallet.partner_secrets;
	rendered jsonb;
BEGIN
	FOR r IN
		SELECT * FROM pg_wallet.outbox o
		WHERE (o.status = 'PENDING' AND o.next_attempt_at <= clock_timestamp())
		   OR (o.status = 'SENDING' AND o.lease_until < clock_timestamp())
		ORDER BY o.next_attempt_at, o.id
		LIMIT least(greatest(max_rows, 0), 1000)
		FOR UPDATE SKIP LOCKED
	LOOP
		SELECT * INTO p FROM pg_wallet.partners x WHERE x.id = r.partner_id;
		SELECT * INTO s FROM pg_wallet.partner_secrets x WHERE x.partner_id = r.partner_id;
		rendered := pg_wallet._adapter_render(r, p, s);
		UPDATE pg_wallet.outbox o
		SET status = 'SENDING', attempts = o.attempts + 1, updated_at = now(),
			-- longer than any request may take (timeouts are at most 5 minutes)
			lease_until = clock_timestamp() + interval '6 minutes'
		WHERE o.id = r.id;
		id := r.id;
		attempt := r.attempts + 1;
		message_id := r.message_id;
		method := r.method;
		url := rendered ->> 'url';
		headers := rendered ->> 'headers';
		body := rendered ->> 'body';
		secret := s.webhook_secret;
		timeout_ms := p.timeout_ms;
		-- Daraja wants a Bearer token, which the worker obtains (and caches) with the
		-- partner's consumer key and secret; NULL auth_basic: they are not set
		auth_partner := NULL;
		auth_url := NULL;
		auth_basic := NULL;
		IF p.adapter = 'mpesa_daraja' THEN
			auth_partner := p.id;
			auth_url := p.base_url || '/oauth/v1/generate?grant_type=client_credentials';
			IF coalesce(s.credentials ->> 'consumer_key', '') <> ''
				AND coalesce(s.credentials ->> 'consumer_secret', '') <> '' THEN
				auth_basic := 'Basic ' || translate(encode(convert_to(
					(s.credentials ->> 'consumer_key') || ':' || (s.credentials ->> 'consumer_secret'),
					'UTF8'), 'base64'), E'\n', '');
			END IF;
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_claim(integer) IS
	'Worker only: lock up to max_rows due rows (PENDING and due, or SENDING with a run-out '
	'lease) with SKIP LOCKED, mark them SENDING (attempts + 1, a lease) and return them '
	'rendered for sending, with the partner''s secret for the signature and, for an M-Pesa '
	'partner, its OAuth URL and Basic credentials (consumer_key:consumer_secret).';

CREATE OR REPLACE FUNCTION pg_wallet._outbox_complete(
	p_id bigint, p_attempt integer, p_outcome text, p_http_status integer, p_response text,
	p_error text, p_retry_delay_ms integer, p_elapsed_ms integer)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox;
	why text;
BEGIN
	SELECT * INTO r FROM pg_wallet.outbox o WHERE o.id = p_id FOR UPDATE;
	IF NOT FOUND OR r.status <> 'SENDING' OR r.attempts <> p_attempt THEN
		RETURN;		-- cancelled, or re-claimed after the lease ran out: a stale answer
	END IF;
	UPDATE pg_wallet.outbox o
	SET status = CASE p_outcome WHEN 'delivered' THEN 'DELIVERED' WHEN 'failed' THEN 'FAILED'
	                            WHEN 'dead' THEN 'DEAD' ELSE 'PENDING' END,
		next_attempt_at = CASE WHEN p_outcome = 'retry'
			THEN clock_timestamp() + make_interval(secs => greatest(p_retry_delay_ms, 0) / 1000.0)
			ELSE o.next_attempt_at END,
		lease_until = NULL,
		last_http_status = p_http_status,
		last_error = left(p_error, 1000),
		last_response = left(p_response, 4000),
		last_elapsed_ms = p_elapsed_ms,
		delivered_at = CASE WHEN p_outcome = 'delivered' THEN now() END,
		updated_at = now()
	WHERE o.id = r.id;
	IF p_outcome = 'dead' THEN
		RAISE LOG 'pg_wallet outbox: message % (%) dead after % attempts', r.id, r.kind,
			p_attempt;
	END IF;
	IF p_outcome NOT IN ('delivered', 'failed') THEN
		RETURN;
	END IF;
	-- the worker's own reason when it has one (an M-Pesa OAuth refusal: nothing was sent)
	why := CASE WHEN p_outcome = 'failed'
		THEN coalesce(left(p_error, 500), format('partner refused the request (HTTP %s)',
			p_http_status)) END;
	BEGIN
		PERFORM pg_wallet._adapter_on_answer(r, p_outcome = 'delivered', p_response, why);
	EXCEPTION WHEN OTHERS THEN
		UPDATE pg_wallet.outbox o
		SET last_error = left('answer not understood: ' || SQLERRM, 1000)
		WHERE o.id = r.id;
	END;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_complete(bigint, integer, text, integer, text, text,
	integer, integer) IS
	'Worker only: record one attempt''s outcome (delivered, failed, retry after a delay, '
	'dead) and give a delivered or refused answer to the adapter. An answer for a row that '
	'is no longer SENDING under that attempt is ignored.';

CREATE OR REPLACE FUNCTION pg_wallet._outbox_recover()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	UPDATE pg_wallet.outbox o
	SET status = 'PENDING', next_attempt_at = now(), lease_until = NULL, updated_at = now()
	WHERE o.status = 'SENDING';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_recover() IS
	'Worker only, at start-up: rows left SENDING by a crashed worker are sent again (the '
	'partner dedupes them by their message id).';

-- (PL/pgSQL, whose plan is kept: the worker calls it every turn, and a SQL-language function
-- with a pinned search_path is parsed and planned again at every call)
CREATE OR REPLACE FUNCTION pg_wallet._outbox_next_due_ms()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- greatest() ignores a NULL: without the CASE an empty outbox would be "due now" (0),
	-- and the worker would claim in a loop instead of sleeping (issue 11)
	RETURN (SELECT CASE WHEN min(t) IS NOT NULL THEN
		greatest(0, ceil(extract(epoch FROM (min(t) - clock_timestamp())) * 1000))::bigint END
	FROM (SELECT min(o.next_attempt_at) AS t FROM pg_wallet.outbox o WHERE o.status = 'PENDING'
	      UNION ALL
	      SELECT min(o.lease_until) FROM pg_wallet.outbox o WHERE o.status = 'SENDING') x);
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_next_due_ms() IS
	'Worker only: milliseconds until the next row is due (or a lease runs out), 0 when one is '
	'due now; NULL when nothing is pending or sending (the worker then sleeps until woken).';

-- ---------------------------------------------------------------------------------------
-- Inspection and operations
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet._outbox_info(o pg_wallet.outbox)
RETURNS pg_wallet.outbox_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT o.id, o.message_id, o.partner_id, o.kind, o.subject_ref, o.method, o.url, o.status,
		o.attempts, o.next_attempt_at, o.last_http_status, o.last_error, o.created_at,
		o.delivered_at
$$;
COMMENT ON FUNCTION pg_wallet._outbox_info(pg_wallet.outbox) IS
	'Internal: an outbox row as outbox_info.';

CREATE OR REPLACE FUNCTION pg_wallet.outbox_list(
	status text DEFAULT NULL,
	partner_id text DEFAULT NULL,
	page_size integer DEFAULT 100,
	after_id bigint DEFAULT 0)
RETURNS SETOF pg_wallet.outbox_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT (pg_wallet._outbox_info(o)).*
		FROM pg_wallet.outbox o
		WHERE (outbox_list.status IS NULL OR o.status = upper(outbox_list.status))
		  AND (outbox_list.partner_id IS NULL OR o.partner_id = outbox_list.partner_id)
		  AND o.id > coalesce(after_id, 0)
		ORDER BY o.id
		LIMIT page_size;
END
$$;
COMMENT ON FUNCTION pg_wallet.outbox_list(text, text, integer, bigint) IS
	'Operator: outbox messages, optionally of one status (PENDING, SENDING, DELIVERED, '
	'FAILED, DEAD, CANCELLED) and partner, in id order, one page at a time.';

CREATE OR REPLACE FUNCTION pg_wallet._outbox_row(p_id bigint)
RETURNS pg_wallet.outbox
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox;
BEGIN
	SELECT * INTO r FROM pg_wallet.outbox o WHERE o.id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'outbox message % does not exist', coalesce(p_id::text, 'NULL')
			USING ERRCODE = 'WL070';
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_row(bigint) IS
	'Internal: an outbox row, locked, or WL070.';

CREATE OR REPLACE FUNCTION pg_wallet.outbox_get(id bigint)
RETURNS pg_wallet.outbox_info
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._outbox_info(pg_wallet._outbox_row(id))
$$;
COMMENT ON FUNCTION pg_wallet.outbox_get(bigint) IS
	'Operator: one outbox message (never its secrets), or WL070.';

CREATE OR REPLACE FUNCTION pg_wallet.outbox_retry(id bigint)
RETURNS pg_wallet.outbox_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox := pg_wallet._outbox_row(id);
BEGIN
	IF r.status NOT IN ('DEAD', 'CANCELLED') THEN
		RAISE EXCEPTION 'outbox message % is %', r.id, r.status USING ERRCODE = 'WL071',
			DETAIL = 'Only DEAD or CANCELLED messages can be sent again.';
	END IF;
	IF NOT pg_wallet._adapter_subject_open(r) THEN
		RAISE EXCEPTION 'outbox message % is about % which is already closed', r.id,
			r.subject_ref USING ERRCODE = 'WL071',
			DETAIL = 'Its deposit or payout ended; sending it again could move money twice.';
	END IF;
	PERFORM pg_wallet._outbox_wake();
	UPDATE pg_wallet.outbox o
	SET status = 'PENDING', attempts = 0, next_attempt_at = now(), updated_at = now()
	WHERE o.id = r.id
	RETURNING * INTO r;
	RETURN pg_wallet._outbox_info(r);
END
$$;
COMMENT ON FUNCTION pg_wallet.outbox_retry(bigint) IS
	'Operator: send a DEAD or CANCELLED message again (attempts start over, same message id '
	'so the partner can dedupe), while its deposit or payout is still open; WL071 otherwise.';

CREATE OR REPLACE FUNCTION pg_wallet.outbox_cancel(id bigint)
RETURNS pg_wallet.outbox_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox := pg_wallet._outbox_row(id);
BEGIN
	IF r.status IN ('DELIVERED', 'FAILED') THEN
		RAISE EXCEPTION 'outbox message % is %', r.id, r.status USING ERRCODE = 'WL071',
			DETAIL = 'A message the partner answered cannot be cancelled.';
	END IF;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', lease_until = NULL, updated_at = now()
	WHERE o.id = r.id
	RETURNING * INTO r;
	RETURN pg_wallet._outbox_info(r);
END
$$;
COMMENT ON FUNCTION pg_wallet.outbox_cancel(bigint) IS
	'Operator: stop sending a PENDING, SENDING or DEAD message (CANCELLED; a request already '
	'in flight may still reach the partner). Its deposit or payout then ends at its deadline.';
