-- Durable events: a row per user-visible state change, in the transaction that makes the
-- change, then NOTIFY pg_wallet_events (payload {"event_id", "owner_id", "event_type",
-- "principal_id"}); the bridge LISTENs, routes by owner_id, reads the event and pushes it to
-- the owner's sockets; a client that reconnects asks for the events after the last id it
-- saw. principal_id names the principal the event is for (the one that caused it, else the
-- owner's only principal) and is null when neither is known.
--
-- Ordering: ids come from one sequence, drawn while the owner's event_streams row is locked
-- (until commit). Two transactions writing events of one owner therefore commit in id order,
-- so "after id N" never misses an event that commits later with a smaller id. Lock order:
-- events are written last in a transaction, owners in ascending id.
--
-- The fraud-alerts stream (issue 16): every fraud:risk_alert of an owner is also copied into
-- the stream of one platform owner (external_ref 'pg_wallet:fraud_alerts', created on first
-- use), which admins' Tribble sockets read: one stream, so its ids commit in order like any
-- owner's, and no reader ever needs a cursor over several owners. The copy is written at
-- commit, by the deferred constraint trigger events_fraud_alert_copy (partners/triggers.sql):
-- so that stream's row is always the LAST lock of a transaction, after every owner's, and an
-- alert may come anywhere in a transaction (a batch's tenth posting, after other events).
-- Nobody emits into that stream directly.

CREATE OR REPLACE FUNCTION pg_wallet._event_types()
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN ARRAY['deposit_completed', 'deposit_failed', 'withdrawal_completed',
		'withdrawal_failed', 'transfer_completed', 'transaction_completed',
		'transaction_failed', 'transaction:completed', 'subscription:charged',
		'dispute:created', 'fraud:risk_alert', 'account:password_changed'];
END
$$;
COMMENT ON FUNCTION pg_wallet._event_types() IS
	'Internal: the event types the specs push (cashier push events, Tribble socket.io '
	'events), and account:password_changed (the log only, pushed by no socket).';

-- The principal an event of an owner is for: the given one (it must be one of the owner's
-- principals), else the owner's only principal, else NULL (none, or several and no way to
-- tell which).
CREATE OR REPLACE FUNCTION pg_wallet._event_principal(p_owner_id bigint, p_principal_id uuid)
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ids uuid[];
BEGIN
	IF p_principal_id IS NOT NULL THEN
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.principals p
		               WHERE p.id = p_principal_id AND p.owner_id = p_owner_id) THEN
			RAISE EXCEPTION 'principal % is not a principal of owner %', p_principal_id,
				p_owner_id USING ERRCODE = 'WL035';
		END IF;
		RETURN p_principal_id;
	END IF;
	SELECT array_agg(p.id) INTO ids
	FROM (SELECT x.id FROM pg_wallet.principals x WHERE x.owner_id = p_owner_id LIMIT 2) p;
	RETURN CASE WHEN cardinality(ids) = 1 THEN ids[1] END;
END
$$;
COMMENT ON FUNCTION pg_wallet._event_principal(bigint, uuid) IS
	'Internal: the principal_id of an owner''s event: the principal that caused it when given '
	'(WL035 unless it is one of the owner''s), else the owner''s only principal, else NULL.';

-- The NOTIFY payload of an event. owner_id is what the bridge routes by (it looks for
-- "owner_id": in the text); principal_id is null when not known.
CREATE OR REPLACE FUNCTION pg_wallet._event_notification(
	p_event_id bigint, p_owner_id bigint, p_event_type text, p_principal_id uuid)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_event_notification'
LANGUAGE C IMMUTABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._event_notification(bigint, bigint, text, uuid) IS
	'Internal: the pg_wallet_events NOTIFY payload, {"event_id", "owner_id", "event_type", '
	'"principal_id"} (principal_id null when not known).';

-- The owner of the fraud-alerts stream, created on first use (a platform owner with a fixed
-- external_ref; created lazily rather than seeded, so existing owner ids do not move).
CREATE OR REPLACE FUNCTION pg_wallet._fraud_alerts_owner()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	found_id bigint;
BEGIN
	SELECT o.id INTO found_id FROM pg_wallet.owners o
	WHERE o.external_ref = 'pg_wallet:fraud_alerts' AND o.kind = 'platform';
	IF found_id IS NULL THEN
		INSERT INTO pg_wallet.owners (kind, name, external_ref)
		VALUES ('platform', 'pg_wallet fraud alerts', 'pg_wallet:fraud_alerts')
		ON CONFLICT (external_ref) DO NOTHING;
		SELECT o.id INTO found_id FROM pg_wallet.owners o
		WHERE o.external_ref = 'pg_wallet:fraud_alerts' AND o.kind = 'platform';
		IF found_id IS NULL THEN
			RAISE EXCEPTION 'the owner "pg_wallet:fraud_alerts" is not a platform owner'
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
	END IF;
	RETURN found_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_alerts_owner() IS
	'Internal: the owner of the fraud-alerts stream (external_ref pg_wallet:fraud_alerts, '
	'kind platform), created on first use; admins'' Tribble sockets read its events.';

-- Write one event into a stream whose row the caller has locked: the id (drawn under the
-- lock), the row, the NOTIFY. The caller then moves the stream's last id on
-- (_event_stream_advance): once per event (_event_write), or once for all the events a
-- worker batch writes into one stream.
CREATE OR REPLACE FUNCTION pg_wallet._event_insert(
	p_owner_id bigint, p_event_type text, p_payload jsonb, p_principal_id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint := nextval('pg_wallet.event_id_seq');
BEGIN
	INSERT INTO pg_wallet.events (id, owner_id, event_type, payload, principal_id)
	VALUES (new_id, p_owner_id, p_event_type, p_payload, p_principal_id);
	-- owner_id stays the routing key (the bridge reads it); principal_id is null when unknown
	PERFORM pg_notify('pg_wallet_events', pg_wallet._event_notification(new_id, p_owner_id,
		p_event_type, p_principal_id));
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._event_insert(bigint, text, jsonb, uuid) IS
	'Internal: write an event into a stream whose event_streams row the caller holds locked '
	'(the id is drawn under that lock) and NOTIFY pg_wallet_events; returns its id. The '
	'caller advances the stream (_event_stream_advance).';

-- A locked stream's row after count events up to last_id.
CREATE OR REPLACE FUNCTION pg_wallet._event_stream_advance(p_owner_id bigint, p_last_id bigint,
	p_count integer)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE pg_wallet.event_streams s
	SET last_event_id = p_last_id, event_count = s.event_count + p_count
	WHERE s.owner_id = p_owner_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._event_stream_advance(bigint, bigint, integer) IS
	'Internal: record in a locked event_streams row that count events up to last_id were '
	'written into it.';

-- One event into a stream whose row the caller has locked.
CREATE OR REPLACE FUNCTION pg_wallet._event_write(
	p_owner_id bigint, p_event_type text, p_payload jsonb, p_principal_id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint := pg_wallet._event_insert(p_owner_id, p_event_type, p_payload,
		p_principal_id);
BEGIN
	PERFORM pg_wallet._event_stream_advance(p_owner_id, new_id, 1);
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._event_write(bigint, text, jsonb, uuid) IS
	'Internal: write an event into a stream whose event_streams row the caller holds locked '
	'(the id is drawn under that lock), advance the stream and NOTIFY pg_wallet_events; '
	'returns its id.';

-- Lock a stream's row until commit (created when the owner has no events yet).
CREATE OR REPLACE FUNCTION pg_wallet._event_stream_lock(p_owner_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO pg_wallet.event_streams AS s (owner_id, last_event_id, event_count)
	VALUES (p_owner_id, 0, 0)
	ON CONFLICT ON CONSTRAINT event_streams_pkey DO UPDATE SET event_count = s.event_count;
END
$$;
COMMENT ON FUNCTION pg_wallet._event_stream_lock(bigint) IS
	'Internal: lock an owner''s event_streams row until commit, creating it if need be.';

-- The checks of an event before it is written or queued; the principal it is for.
CREATE OR REPLACE FUNCTION pg_wallet._event_check(p_owner_id bigint, p_event_type text,
	p_payload jsonb, p_principal_id uuid)
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p_event_type IS NULL OR NOT (p_event_type = ANY (pg_wallet._event_types())) THEN
		RAISE EXCEPTION 'unknown event type "%"', left(p_event_type, 50) USING ERRCODE = 'WL075',
			HINT = 'Use one of ' || array_to_string(pg_wallet._event_types(), ', ') || '.';
	END IF;
	IF p_payload IS NULL OR jsonb_typeof(p_payload) <> 'object'
		OR octet_length(p_payload::text) > 8192 THEN
		RAISE EXCEPTION 'event payload must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = p_owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(p_owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = p_owner_id
	           AND o.external_ref = 'pg_wallet:fraud_alerts') THEN
		RAISE EXCEPTION 'the fraud-alerts stream takes only copies of owners'' fraud:risk_alert'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN pg_wallet._event_principal(p_owner_id, p_principal_id);
END
$$;
COMMENT ON FUNCTION pg_wallet._event_check(bigint, text, jsonb, uuid) IS
	'Internal: emit_event''s checks (WL075 type, payload an object of 8192 bytes, WL018 owner, '
	'not the fraud-alerts stream, WL035 principal); the principal the event is for.';

CREATE OR REPLACE FUNCTION pg_wallet.emit_event(
	owner_id bigint,
	event_type text,
	payload jsonb,
	principal_id uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who uuid := pg_wallet._event_check(emit_event.owner_id, emit_event.event_type,
		emit_event.payload, emit_event.principal_id);
BEGIN
	-- the owner's stream row, locked until commit, then the id
	PERFORM pg_wallet._event_stream_lock(emit_event.owner_id);
	RETURN pg_wallet._event_write(emit_event.owner_id, emit_event.event_type,
		emit_event.payload, who);
END
$$;
COMMENT ON FUNCTION pg_wallet.emit_event(bigint, text, jsonb, uuid) IS
	'Record a user-visible event for an owner in the caller''s transaction and NOTIFY '
	'pg_wallet_events at commit ({"event_id", "owner_id", "event_type", "principal_id"}); '
	'returns its id. principal_id: the principal that caused it (WL035 unless it is one of '
	'the owner''s), by default the owner''s only principal, else null. Types: '
	'deposit_completed, deposit_failed, withdrawal_completed, withdrawal_failed, '
	'transfer_completed, transaction_completed, transaction_failed, transaction:completed, '
	'subscription:charged, dispute:created, fraud:risk_alert, account:password_changed '
	'(WL075 otherwise). A fraud:risk_alert is also copied, at commit, into the fraud-alerts '
	'stream (admins read it). '
	'Call it last in a transaction.';

-- Queued events. A transaction that writes an event into a stream holds the stream's row
-- until commit, and its NOTIFY takes PostgreSQL's database-wide notify lock from pre-commit
-- to the end of the commit, so notifying transactions commit one at a time: every payment
-- into one merchant queued on the merchant's stream row, and every payment on the notify
-- lock (bench/README.md, "Wallet payments"). A queued event is instead one row in
-- event_queue, written in the transaction (durable with it, gone with a rollback); at commit
-- the outbox worker is woken (_outbox_wake) and moves the queue into the streams in its own
-- short transactions (_events_sequence): owners in ascending id, each stream's row locked
-- once per batch, one NOTIFY per event, all committed at once. Readers see no difference but
-- a delay of one worker turn; an event's id orders it in its stream as before. Used where
-- only the worker can keep up with the rate (payments); everything else emits directly.
-- Without a worker serving this database (_event_queue_here() false) the caller emits
-- directly instead, so an event is never left queued with nobody to move it.

-- Whether the outbox worker serves this database, so a queued event will be moved.
CREATE OR REPLACE FUNCTION pg_wallet._event_queue_here()
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_event_queue_here'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._event_queue_here() IS
	'Internal: whether queued events will be moved into their streams here (pg_wallet '
	'preloaded, its workers enabled and serving this database).';

-- One event for several owners (each with the principal it is for), queued when the worker
-- serves this database, else written at once (owners in ascending id). For callers that
-- made the owners and principals go together themselves: no WL018 / WL035 checks here.
CREATE OR REPLACE FUNCTION pg_wallet._events_enqueue(p_owner_ids bigint[], p_event_type text,
	p_payload jsonb, p_principal_ids uuid[])
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_events_enqueue'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._events_enqueue(bigint[], text, jsonb, uuid[]) IS
	'Internal: one event (a type of _event_types(), an object payload) for each owner with '
	'its principal, queued for the outbox worker (one row for all the owners, one wake) when '
	'it serves this '
	'database, else written into the streams at once, owners in ascending id. The caller '
	'vouches that each principal is its owner''s.';

-- Move up to max_events queued events into their streams (the outbox worker, each turn; a
-- test may call it). One sequencer at a time (a transaction-level advisory lock; a second
-- caller returns 0 at once, as SKIP LOCKED did), so the queue's rows are deleted without
-- locking them first (a lock is a WAL record of its own). Every stream of the batch is locked
-- (in ascending owner id) before its events' ids are drawn, and advanced once per call,
-- however many of its events the batch holds (a merchant's: one per payment into it); four
-- statements per call whatever the batch (partners/events_queue.c). Returns how many queued
-- events it moved.
CREATE OR REPLACE FUNCTION pg_wallet._events_sequence(max_events integer DEFAULT 1000)
RETURNS integer
AS 'MODULE_PATHNAME', 'wallet_events_sequence'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
-- the queue is mostly empty when analysed and full of dead rows between vacuums: its
-- statistics make a sequential scan (every dead page, each turn) look cheaper than the
-- primary key's range, which is what the oldest rows want
SET enable_seqscan = off;
COMMENT ON FUNCTION pg_wallet._events_sequence(integer) IS
	'Internal: move up to max_events queued events (oldest first) into their owners'' '
	'streams, owners in ascending id: each event its id under the stream''s lock and its '
	'NOTIFY, each stream advanced once. One caller at a time (another gets 0). The outbox '
	'worker runs it each turn; returns how many queued events it moved.';

-- The copy of an owner's fraud:risk_alert for admins, run at commit (a deferred constraint
-- trigger, partners/triggers.sql): the fraud-alerts stream's row is locked last.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_alert_copy()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	alerts bigint;
BEGIN
	IF EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = NEW.owner_id
	           AND o.external_ref = 'pg_wallet:fraud_alerts') THEN
		RETURN NULL;	-- the copy itself
	END IF;
	alerts := pg_wallet._fraud_alerts_owner();
	PERFORM pg_wallet._event_stream_lock(alerts);
	-- for no principal in particular
	PERFORM pg_wallet._event_write(alerts, NEW.event_type, NEW.payload, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_alert_copy() IS
	'Internal (trigger events_fraud_alert_copy, deferred to commit): copy an owner''s '
	'fraud:risk_alert into the fraud-alerts stream that admins read, locking that stream''s '
	'row last in the transaction.';

CREATE OR REPLACE FUNCTION pg_wallet.get_events(
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
		SELECT e.id, e.owner_id, e.event_type, e.payload, e.created_at, e.principal_id
		FROM pg_wallet.events e
		WHERE e.owner_id = get_events.owner_id AND e.id > coalesce(after_event_id, 0)
		ORDER BY e.id
		LIMIT max_events;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_events(bigint, bigint, integer) IS
	'An owner''s events after an id, oldest first, at most max_events (1-1000), each with '
	'the principal it is for (or NULL): a client that reconnects passes the last event_id it '
	'saw and misses none.';
