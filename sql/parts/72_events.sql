-- Durable events: a row per user-visible state change, in the transaction that makes the
-- change, then NOTIFY pg_wallet_events (payload {"event_id", "owner_id", "event_type"}); the
-- bridge LISTENs, reads the event and pushes it to the owner's sockets; a client that
-- reconnects asks for the events after the last id it saw.
--
-- Ordering: ids come from one sequence, drawn while the owner's event_streams row is locked
-- (until commit). Two transactions writing events of one owner therefore commit in id order,
-- so "after id N" never misses an event that commits later with a smaller id. Lock order:
-- events are written last in a transaction, owners in ascending id.

CREATE FUNCTION pg_wallet._ts_iso(ts timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
COMMENT ON FUNCTION pg_wallet._ts_iso(timestamptz) IS
	'Internal: a timestamp as the specs show it, ISO 8601 UTC (2025-12-07T11:00:00Z).';

CREATE FUNCTION pg_wallet._event_types()
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY['deposit_completed', 'deposit_failed', 'withdrawal_completed',
		'withdrawal_failed', 'transfer_completed', 'transaction_completed',
		'transaction_failed', 'transaction:completed', 'subscription:charged',
		'dispute:created', 'fraud:risk_alert']
$$;
COMMENT ON FUNCTION pg_wallet._event_types() IS
	'Internal: the event types the specs push (cashier push events, Tribble socket.io '
	'events).';

CREATE FUNCTION pg_wallet.emit_event(owner_id bigint, event_type text, payload jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF event_type IS NULL OR NOT (event_type = ANY (pg_wallet._event_types())) THEN
		RAISE EXCEPTION 'unknown event type "%"', left(event_type, 50) USING ERRCODE = 'WL075',
			HINT = 'Use one of ' || array_to_string(pg_wallet._event_types(), ', ') || '.';
	END IF;
	IF payload IS NULL OR jsonb_typeof(payload) <> 'object' OR octet_length(payload::text) > 8192
	THEN
		RAISE EXCEPTION 'event payload must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = emit_event.owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	-- the owner's stream row, locked until commit, then the id
	INSERT INTO pg_wallet.event_streams AS s (owner_id, last_event_id, event_count)
	VALUES (emit_event.owner_id, 0, 0)
	ON CONFLICT ON CONSTRAINT event_streams_pkey DO UPDATE SET event_count = s.event_count;
	new_id := nextval('pg_wallet.event_id_seq');
	UPDATE pg_wallet.event_streams s SET last_event_id = new_id, event_count = s.event_count + 1
	WHERE s.owner_id = emit_event.owner_id;
	INSERT INTO pg_wallet.events (id, owner_id, event_type, payload)
	VALUES (new_id, emit_event.owner_id, emit_event.event_type, emit_event.payload);
	PERFORM pg_notify('pg_wallet_events', jsonb_build_object('event_id', new_id,
		'owner_id', emit_event.owner_id, 'event_type', emit_event.event_type)::text);
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.emit_event(bigint, text, jsonb) IS
	'Record a user-visible event for an owner in the caller''s transaction and NOTIFY '
	'pg_wallet_events at commit; returns its id. Types: deposit_completed, deposit_failed, '
	'withdrawal_completed, withdrawal_failed, transfer_completed, transaction_completed, '
	'transaction_failed, transaction:completed, subscription:charged, dispute:created, '
	'fraud:risk_alert (WL075 otherwise). Call it last in a transaction.';

CREATE FUNCTION pg_wallet.get_events(
	owner_id bigint,
	after_event_id bigint DEFAULT 0,
	max_events integer DEFAULT 100)
RETURNS SETOF pg_wallet.event_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_events IS NULL OR max_events NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'max_events must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT e.id, e.owner_id, e.event_type, e.payload, e.created_at
		FROM pg_wallet.events e
		WHERE e.owner_id = get_events.owner_id AND e.id > coalesce(after_event_id, 0)
		ORDER BY e.id
		LIMIT max_events;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_events(bigint, bigint, integer) IS
	'An owner''s events after an id, oldest first, at most max_events (1-1000): a client '
	'that reconnects passes the last event_id it saw and misses none.';
