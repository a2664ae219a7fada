-- pgTAP: Tribble's socket.io functions (sql/api/tribble_socket.sql) and the account endpoints
-- (sql/api/tribble_account.sql), as the bridge calls them: the token in the auth object,
-- the cursor, each user only its own events (its owner's, for it or for nobody in
-- particular), only the four Tribble types, in id order, and the acknowledgement of
-- subscribe. Run by scripts/test (stage pgtap); everything is rolled back.
BEGIN;
SELECT plan(23);

-- two users, and an owner with two principals (a household): P1 and P2
SELECT principal_id AS ua, owner_id AS oa
FROM pg_wallet.register_user('sock-a@example.com', 'Passw0rd-tap', 'A', 'T', '+254700000601')
\gset
SELECT principal_id AS ub, owner_id AS ob
FROM pg_wallet.register_user('sock-b@example.com', 'Passw0rd-tap', 'B', 'T', '+254700000602')
\gset
SELECT principal_id AS p1, owner_id AS oh
FROM pg_wallet.create_principal('user', 'sock-p1@example.com', 'Passw0rd-tap') \gset
SELECT principal_id AS p2
FROM pg_wallet.create_principal('user', 'sock-p2@example.com', 'Passw0rd-tap',
	owner_id => :oh) \gset
SELECT access_token AS ta FROM pg_wallet.login('sock-a@example.com', 'Passw0rd-tap') \gset
SELECT access_token AS tb FROM pg_wallet.login('sock-b@example.com', 'Passw0rd-tap') \gset
SELECT access_token AS t1 FROM pg_wallet.login('sock-p1@example.com', 'Passw0rd-tap') \gset
SELECT access_token AS tc FROM pg_wallet.login('sock-a@example.com', 'Passw0rd-tap', 'cashier')
\gset

CREATE TEMP TABLE auth AS SELECT
	jsonb_build_object('token', 'Bearer ' || :'ta') AS a,
	jsonb_build_object('token', 'Bearer ' || :'tb') AS b,
	jsonb_build_object('token', 'Bearer ' || :'t1') AS p1;
CREATE FUNCTION pg_temp.connect(auth jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT pg_wallet.api_tribble_socket_connect(NULL, jsonb_build_object('body', auth)) $$;
CREATE FUNCTION pg_temp.next_event(auth jsonb, after bigint) RETURNS jsonb LANGUAGE sql
AS $$ SELECT pg_wallet.api_tribble_socket_events(NULL, jsonb_build_object('body',
	jsonb_build_object('auth', auth, 'after_event_id', after))) $$;

-- connect: the token of the auth object is checked
SELECT throws_ok($$SELECT pg_temp.connect('{}')$$, 'WL022', NULL,
	'a CONNECT without a token is refused (WL022)');
SELECT throws_ok($$SELECT pg_temp.connect('{"token": "Bearer x.y.z"}')$$, NULL, NULL,
	'a CONNECT with a bad token is refused');
SELECT throws_ok(format($$SELECT pg_temp.connect(%L)$$,
	jsonb_build_object('token', 'Bearer ' || :'tc')), 'WL023', NULL,
	'a cashier token is not a Tribble token (WL023)');
SELECT ok((pg_temp.connect(a) #>> '{_bridge,owner_id}')::bigint = :oa,
	'a CONNECT names the caller''s owner for the bridge') FROM auth;
SELECT ok(pg_temp.connect(a) #> '{connect,sid}' IS NOT NULL
	AND pg_temp.connect(a) #> '{connect,pid}' IS NOT NULL, 'the CONNECT payload has sid and pid')
FROM auth;
SELECT is(pg_temp.connect(a || '{"pid": "kept-pid", "offset": "41"}') #>> '{connect,pid}',
	'kept-pid', 'a recovering client gets its pid back') FROM auth;
SELECT is((pg_temp.connect(a || '{"offset": "41"}') #>> '{_bridge,last_event_id}')::bigint, 41::bigint,
	'the offset of the auth object is the cursor') FROM auth;

-- events: A's, B's, the household's (one for P2, one for nobody), a cashier-only type
SELECT (pg_temp.connect(a) #>> '{_bridge,last_event_id}')::bigint AS start_a FROM auth \gset
SELECT (pg_temp.connect(p1) #>> '{_bridge,last_event_id}')::bigint AS start_h FROM auth \gset
SELECT is(pg_temp.next_event(a, :start_a) #>> '{_bridge,silent}', 'true',
	'nothing new: silent') FROM auth;
SELECT pg_wallet.emit_event(:oa, 'transaction_completed', '{"cashier": true}') AS e0 \gset
SELECT pg_wallet.emit_event(:oa, 'transaction:completed', '{"n": 1}') AS e1 \gset
SELECT pg_wallet.emit_event(:ob, 'transaction:completed', '{"n": 2}') AS e2 \gset
SELECT pg_wallet.emit_event(:oa, 'dispute:created', '{"n": 3}') AS e3 \gset
SELECT pg_wallet.emit_event(:oh, 'transaction:completed', '{"n": 4}', :'p2') AS e4 \gset
SELECT pg_wallet.emit_event(:oh, 'subscription:charged', '{"n": 5}') AS e5 \gset

SELECT is(pg_temp.next_event(a, :start_a) -> 'packet',
	jsonb_build_array('transaction:completed', '{"n": 1}'::jsonb, :e1::text),
	'A''s next event is its first Tribble one (the cashier type is skipped), with its offset')
FROM auth;
SELECT is(pg_temp.next_event(a, :start_a) #>> '{_bridge,more}', 'true', '... and more follow')
FROM auth;
SELECT is(pg_temp.next_event(a, :e1) -> 'packet',
	jsonb_build_array('dispute:created', '{"n": 3}'::jsonb, :e3::text),
	'after it, A''s second: never B''s in between') FROM auth;
SELECT is(pg_temp.next_event(a, :e3) #>> '{_bridge,silent}', 'true', 'then nothing') FROM auth;
SELECT is(pg_temp.next_event(b, :start_a) #>> '{packet,1,n}', '2', 'B gets only its own')
FROM auth;
SELECT is(pg_temp.next_event(p1, :start_h) #>> '{packet,1,n}', '5',
	'P1 skips the event for P2 and gets the one for nobody in particular') FROM auth;
SELECT throws_ok(format($$SELECT pg_temp.next_event(%L, 0)$$,
	jsonb_build_object('token', 'Bearer revoked')), NULL, NULL,
	'an events read checks the token again');
SELECT throws_ok(format($$SELECT pg_wallet.api_tribble_socket_events(NULL, %L)$$,
	jsonb_build_object('body', jsonb_build_object('auth', a, 'after_event_id', 'x'))),
	'22023', NULL, 'a cursor that is not a number is refused') FROM auth;

-- the acknowledgement of subscribe: only the caller's own channels
SELECT is(pg_wallet.api_tribble_socket_message(NULL, jsonb_build_object('body',
	jsonb_build_object('auth', a, 'event', jsonb_build_array('subscribe', jsonb_build_object(
		'channels', jsonb_build_array('user:' || :'ua', 'user:' || :'ub', 'transaction:all',
			'fraud:all')))))) -> 'ack',
	jsonb_build_array(jsonb_build_object('subscribed', jsonb_build_array('user:' || :'ua',
		'transaction:all'))),
	'subscribe acknowledges the caller''s own channels only') FROM auth;
SELECT is(pg_wallet.api_tribble_socket_message(NULL, jsonb_build_object('body',
	jsonb_build_object('auth', a, 'event', '["transfer", {"amount": 1}]'::jsonb))) #>> '{ack,0,error}',
	'unsupported event', 'another event is acknowledged as unsupported') FROM auth;

-- the account endpoints
SELECT is(pg_wallet.api_tribble_update_profile(:'ta', '{"body": {"lastName": "Tee"}}')
	->> 'message', 'Profile updated successfully', 'update_profile through the API');
SELECT is((pg_wallet.get_principal_by_id(:'ua')).last_name, 'Tee', '... changed the name');
SELECT throws_ok(format($$SELECT pg_wallet.api_tribble_update_profile(%L, %L)$$, :'ta',
	'{"body": {"phoneNumber": "nope"}}'), '22023', NULL, 'a bad phone number is refused');
SELECT is(pg_wallet.api_tribble_change_password(:'ta', '{"body": {"currentPassword":
	"wrong-1a", "newPassword": "NewPassw0rd-tap"}}') #>> '{error,code}', 'WL020',
	'a wrong current password is returned as WL020 (the failed attempt is kept)');
SELECT ok(pg_wallet.api_tribble_submit_kyc(:'ta', jsonb_build_object('body',
	jsonb_build_object('documentType', 'passport', 'document', jsonb_build_object(
		'reference', 'store://a/passport', 'sha256', repeat('ab', 32))))) ->> 'status'
	= 'SUBMITTED', 'submit-kyc records a document by reference');

SELECT * FROM finish();
ROLLBACK;
