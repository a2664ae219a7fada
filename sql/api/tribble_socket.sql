-- API layer: Tribble's socket.io events (tribble-rest-api.md, "WebSocket Events"), served by
-- pg_wallet_bridge at /socket.io/ (bridge/sio*.c, docs/bridge.md "socket.io"). The bridge
-- speaks Engine.IO and socket.io; these functions decide everything else:
--   pg_wallet.api_tribble_socket_connect(token, args)   a socket.io CONNECT: args.body is the
--       client's `auth` object ({"token": "Bearer <accessToken>"}, and on a reconnect the
--       "pid" and "offset" of socket.io's connection-state recovery); returns the CONNECT
--       payload {"sid", "pid"} and, for the bridge, the owner and the events cursor;
--   pg_wallet.api_tribble_socket_events(token, args)    the caller's next Tribble event after
--       args.body.after_event_id, as the socket.io EVENT payload
--       ["<event>", <data>, "<offset>"] (the offset is the event's id: the client sends the
--       last one it saw back in its next CONNECT and misses nothing);
--   pg_wallet.api_tribble_socket_message(token, args)   an EVENT the client emitted
--       (args.body.event: its array); returns the acknowledgement's arguments.
-- The token comes in the auth object (args.body.auth.token, or args.body.token at CONNECT),
-- never in $1, and is checked on every call: a revoked or expired token ends the stream.
-- Each user reads only their own events: their owner's, for them or for nobody in particular
-- (principal_id NULL), of the four Tribble types. An admin's socket reads the fraud alerts
-- instead: the fraud-alerts stream (sql/partners/events.sql), where emit_event copies every
-- owner's fraud:risk_alert; one stream, so one cursor over it skips nothing (a cursor over
-- several owners' streams could). Admins have no wallets in Tribble, so they read nothing
-- else. A later domain only writes its event (pg_wallet.emit_event); nothing here or in the
-- bridge changes.

CREATE OR REPLACE FUNCTION pg_wallet._tribble_socket_types()
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY['transaction:completed', 'subscription:charged', 'dispute:created',
		'fraud:risk_alert']
$$;
COMMENT ON FUNCTION pg_wallet._tribble_socket_types() IS
	'Internal: the event types Tribble''s socket.io clients receive.';

-- The stream a caller's socket reads and the event types it takes from it: an admin's is the
-- fraud-alerts stream (fraud:risk_alert), anyone else's their own owner's (the four types).
CREATE OR REPLACE FUNCTION pg_wallet._tribble_socket_stream(me pg_wallet.auth_principal,
	OUT stream_owner_id bigint, OUT types text[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF me.role = 'admin' THEN
		stream_owner_id := pg_wallet._fraud_alerts_owner();
		types := ARRAY['fraud:risk_alert'];
	ELSE
		stream_owner_id := me.owner_id;
		types := pg_wallet._tribble_socket_types();
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_socket_stream(pg_wallet.auth_principal) IS
	'Internal: the events stream (its owner) and the event types a Tribble socket of this '
	'caller reads: an admin''s is the fraud-alerts stream (fraud:risk_alert only), anyone '
	'else''s their own owner''s (the four Tribble types).';

-- The caller of a socket call: the token of the auth object (a string of at most 4096
-- characters), authenticated as a Tribble caller; WL022-class refusals come from
-- authenticate() itself.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_socket_me(auth jsonb)
RETURNS pg_wallet.auth_principal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF auth IS NULL OR jsonb_typeof(auth) <> 'object'
		OR jsonb_typeof(auth -> 'token') IS DISTINCT FROM 'string'
		OR length(auth ->> 'token') > 4096 THEN
		RETURN pg_wallet._tribble_me(NULL);
	END IF;
	RETURN pg_wallet._tribble_me(auth ->> 'token');
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_socket_me(jsonb) IS
	'Internal: authenticate the token of a socket.io auth object {"token": "Bearer ..."} '
	'as a Tribble caller (a missing or overlong token is refused as none).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_socket_connect(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	auth jsonb := args -> 'body';
	me pg_wallet.auth_principal := pg_wallet._tribble_socket_me(auth);
	given_offset text := auth ->> 'offset';
	pid text := auth ->> 'pid';
	stream bigint := (pg_wallet._tribble_socket_stream(me)).stream_owner_id;
	cursor_id bigint;
BEGIN
	IF given_offset ~ '^[0-9]{1,18}$' THEN
		cursor_id := given_offset::bigint;		-- resume after the last event the client saw
	ELSE
		cursor_id := coalesce((SELECT s.last_event_id FROM pg_wallet.event_streams s
		                       WHERE s.owner_id = stream), 0);
	END IF;
	IF pid IS NULL OR pid !~ '^[A-Za-z0-9_-]{1,64}$' THEN
		pid := replace(gen_random_uuid()::text, '-', '');
	END IF;
	RETURN jsonb_build_object(
		'connect', jsonb_build_object('sid', replace(gen_random_uuid()::text, '-', ''),
			'pid', pid),
		'_bridge', jsonb_build_object('owner_id', me.owner_id, 'stream_owner_id', stream,
			'last_event_id', cursor_id, 'principal', me.principal_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_socket_connect(text, jsonb) IS
	'socket.io CONNECT of a Tribble client: args.body is its auth object {"token": "Bearer '
	'<accessToken>", "pid", "offset"}; the token is checked (a refusal is the CONNECT_ERROR). '
	'Returns {"connect": {"sid", "pid"}} and "_bridge" (owner_id: the caller''s, for the '
	'per-user caps; stream_owner_id: the stream the socket reads, the fraud-alerts stream '
	'for an admin; last_event_id: the offset given, else the stream''s latest event; '
	'principal) for the bridge.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_socket_events(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_socket_me(args #> '{body,auth}');
	after_text text := args #>> '{body,after_event_id}';
	st record := pg_wallet._tribble_socket_stream(me);
	e pg_wallet.events;
	more boolean;
BEGIN
	IF after_text IS NULL OR after_text !~ '^[0-9]{1,18}$' THEN
		RAISE EXCEPTION 'after_event_id must be a non-negative integer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO e FROM pg_wallet.events x
	WHERE x.owner_id = st.stream_owner_id AND x.id > after_text::bigint
		AND x.event_type = ANY (st.types)
		AND (x.principal_id IS NULL OR x.principal_id = me.principal_id)
	ORDER BY x.id
	LIMIT 1;
	IF e.id IS NULL THEN
		RETURN jsonb_build_object('_bridge', jsonb_build_object('silent', true));
	END IF;
	more := EXISTS (SELECT 1 FROM pg_wallet.events x
		WHERE x.owner_id = st.stream_owner_id AND x.id > e.id
			AND x.event_type = ANY (st.types)
			AND (x.principal_id IS NULL OR x.principal_id = me.principal_id));
	RETURN jsonb_build_object('packet', jsonb_build_array(e.event_type, e.payload, e.id::text),
		'_bridge', jsonb_build_object('last_event_id', e.id, 'more', more));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_socket_events(text, jsonb) IS
	'socket.io push: the caller''s next Tribble event (transaction:completed, '
	'subscription:charged, dispute:created, fraud:risk_alert) after args.body.after_event_id, '
	'as {"packet": ["<type>", <data>, "<event id>"]} with "_bridge" (last_event_id, more); '
	'"_bridge": {"silent": true} when there is none. The token is args.body.auth.token. An '
	'admin reads the fraud-alerts stream (every owner''s fraud:risk_alert) instead.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_socket_message(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_socket_me(args #> '{body,auth}');
	ev jsonb := args #> '{body,event}';
	name text;
	wanted jsonb;
	allowed text[];
	granted jsonb;
BEGIN
	IF jsonb_typeof(ev) IS DISTINCT FROM 'array' OR jsonb_typeof(ev -> 0) <> 'string' THEN
		RETURN jsonb_build_object('ack', jsonb_build_array(jsonb_build_object(
			'error', 'an event is ["name", ...arguments]')));
	END IF;
	name := ev ->> 0;
	IF name <> 'subscribe' THEN
		RETURN jsonb_build_object('ack', jsonb_build_array(jsonb_build_object(
			'error', 'unsupported event')));
	END IF;
	-- the caller's own channels; every event of theirs is sent whatever they subscribe to
	allowed := ARRAY['user:' || me.principal_id::text, 'transaction:all', 'subscription:all',
		'dispute:all'] || CASE WHEN me.role = 'admin' THEN ARRAY['fraud:all'] ELSE '{}' END;
	wanted := ev #> '{1,channels}';
	SELECT coalesce(jsonb_agg(c), '[]') INTO granted
	FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(wanted) = 'array' THEN wanted
		ELSE '[]' END) c
	WHERE c = ANY (allowed);
	RETURN jsonb_build_object('ack', jsonb_build_array(jsonb_build_object(
		'subscribed', granted)));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_socket_message(text, jsonb) IS
	'An EVENT a Tribble socket.io client emitted (args.body.event = ["name", ...]); the token '
	'is args.body.auth.token. "subscribe" {"channels"} acknowledges the channels that are the '
	'caller''s own (user:<id>, transaction:all, ...); anything else acknowledges an error. '
	'Returns {"ack": [arguments]}.';
