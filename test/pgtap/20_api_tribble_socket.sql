-- pgTAP: Tribble's socket.io functions (sql/api/tribble_socket.sql) and the account endpoints
-- (sql/api/tribble_account.sql), as the bridge calls them: the token in the auth object,
-- the cursor, each user only its own events (its owner's, for it or for nobody in
-- particular), only the four Tribble types, in id order, and the acknowledgement of
-- subscribe; an admin reads the fraud-alerts stream (every owner's fraud:risk_alert, nothing
-- else); a password change is an event of the log, with no secret in it. Run by scripts/test
-- (stage pgtap); everything is rolled back.
BEGIN;
SELECT plan(42);

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
SELECT principal_id AS uadm, owner_id AS oadm
FROM pg_wallet.create_principal('admin', 'sock-admin@example.com', 'Passw0rd-tap') \gset
SELECT access_token AS tadm FROM pg_wallet.login('sock-admin@example.com', 'Passw0rd-tap') \gset

CREATE TEMP TABLE auth AS SELECT
	jsonb_build_object('token', 'Bearer ' || :'ta') AS a,
	jsonb_build_object('token', 'Bearer ' || :'tb') AS b,
	jsonb_build_object('token', 'Bearer ' || :'t1') AS p1,
	jsonb_build_object('token', 'Bearer ' || :'tadm') AS adm;
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

-- fraud alerts: an admin's socket reads the fraud-alerts stream, where every owner's
-- fraud:risk_alert is copied at commit (the deferred trigger events_fraud_alert_copy, so that
-- stream's row is locked last); this transaction never commits, so it asks for the copies at
-- once, as SET CONSTRAINTS ... IMMEDIATE does to any deferred trigger
SELECT lives_ok(format($q$DO $d$ BEGIN
		PERFORM pg_wallet.emit_event(%s, 'transaction:completed', '{"n": 0}');
		PERFORM pg_wallet.emit_event(%s, 'fraud:risk_alert', '{"riskScore": 1, "n": "late"}');
	END $d$$q$, :oa, :ob),
	'a fraud:risk_alert may come after another event of its transaction');
SET CONSTRAINTS pg_wallet.events_fraud_alert_copy IMMEDIATE;
SELECT (pg_temp.connect(adm) #>> '{_bridge,stream_owner_id}')::bigint AS oalerts,
	(pg_temp.connect(adm) #>> '{_bridge,last_event_id}')::bigint AS start_adm,
	(pg_temp.connect(b) #>> '{_bridge,last_event_id}')::bigint AS start_b0,
	(pg_temp.connect(a) #>> '{_bridge,last_event_id}')::bigint AS start_a0
FROM auth \gset
SELECT is((SELECT o.external_ref FROM pg_wallet.owners o WHERE o.id = :oalerts),
	'pg_wallet:fraud_alerts', 'an admin''s socket reads the fraud-alerts stream');
SELECT is((pg_temp.connect(adm) #>> '{_bridge,owner_id}')::bigint, :oadm::bigint,
	'... while its per-user caps stay the admin''s own owner''s') FROM auth;
SELECT is((pg_temp.connect(a) #>> '{_bridge,stream_owner_id}')::bigint, :oa::bigint,
	'a user''s socket reads its own owner''s stream') FROM auth;
SELECT pg_wallet.emit_event(:oa, 'fraud:risk_alert', '{"transactionId": "txn-f1",
	"riskScore": 85, "riskLevel": "CRITICAL", "decision": "HOLD", "requiresAction": true,
	"timestamp": "2025-11-10T10:35:00Z"}') AS ef \gset
SELECT is(pg_temp.next_event(adm, :start_adm) #> '{packet,0}' || (pg_temp.next_event(adm,
	:start_adm) #> '{packet,1}'), '["fraud:risk_alert", {"transactionId": "txn-f1",
	"riskScore": 85, "riskLevel": "CRITICAL", "decision": "HOLD", "requiresAction": true,
	"timestamp": "2025-11-10T10:35:00Z"}]'::jsonb,
	'the admin reads the alert emitted for A, with its payload') FROM auth;
SELECT (pg_temp.next_event(adm, :start_adm) #>> '{packet,2}')::bigint AS ef_copy FROM auth \gset
SELECT ok(:ef_copy > :ef, '... as the copy in its stream, after A''s event');
SELECT is(pg_temp.next_event(adm, :ef_copy) #>> '{_bridge,silent}', 'true',
	'... once') FROM auth;
SELECT is(pg_temp.next_event(b, :start_b0) #>> '{_bridge,silent}', 'true',
	'B does not get A''s alert') FROM auth;
SELECT is(pg_temp.next_event(a, :start_a0) #>> '{packet,2}', :ef::text,
	'A gets its own alert') FROM auth;
SELECT is((SELECT count(*) FROM pg_wallet.get_events(:oalerts, 0, 1000) g
	WHERE g.event_type = 'fraud:risk_alert' AND g.principal_id IS NULL
		AND g.payload ->> 'transactionId' = 'txn-f1'), 1::bigint,
	'the fraud-alerts stream holds one copy, for no principal');
SELECT is((SELECT count(*) FROM pg_wallet.get_events(:oalerts, 0, 1000) g
	WHERE g.payload ->> 'n' = 'late'), 1::bigint,
	'... and is copied like any other (the one after transaction:completed)');
SELECT throws_ok(format($$SELECT pg_wallet.emit_event(%s, 'fraud:risk_alert', '{}')$$,
	:oalerts), '22023', NULL, 'nobody emits into the fraud-alerts stream directly');

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
SELECT is(pg_temp.next_event(adm, :ef_copy) #>> '{_bridge,silent}', 'true',
	'the admin gets no user''s other events') FROM auth;
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
SELECT is((SELECT count(*) FROM pg_wallet.events e WHERE e.owner_id = :oa
	AND e.event_type = 'account:password_changed'), 0::bigint,
	'... and writes no event');
SELECT is(pg_wallet.api_tribble_change_password(:'ta', '{"body": {"currentPassword":
	"Passw0rd-tap", "newPassword": "NewPassw0rd-tap2"}}') ->> 'message',
	'Password changed successfully', 'change-password with the current password');
SELECT is((SELECT count(*) FROM pg_wallet.get_events(:oa, :e3, 1000) g
	WHERE g.event_type = 'account:password_changed'), 1::bigint,
	'... writes one account:password_changed event, readable through get_events');
SELECT is((SELECT g.payload - 'changedAt' FROM pg_wallet.get_events(:oa, :e3, 1000) g
	WHERE g.event_type = 'account:password_changed'),
	jsonb_build_object('userId', :'ua', 'sessionsRevoked', 1),
	'... for the user, counting the other session it revoked (the cashier one)');
SELECT ok((SELECT g.payload::text !~* 'passw0rd|scrypt|\$' AND g.payload ? 'changedAt'
	FROM pg_wallet.get_events(:oa, :e3, 1000) g
	WHERE g.event_type = 'account:password_changed'), '... with no password or hash in it');
SELECT is(pg_temp.next_event(a, :e3) #>> '{_bridge,silent}', 'true',
	'... and it is not pushed over socket.io') FROM auth;
SELECT ok(pg_wallet.api_tribble_submit_kyc(:'ta', jsonb_build_object('body',
	jsonb_build_object('documentType', 'passport', 'document', jsonb_build_object(
		'reference', 'store://a/passport', 'sha256', repeat('ab', 32))))) ->> 'status'
	= 'SUBMITTED', 'submit-kyc records a document by reference');

SELECT * FROM finish();
ROLLBACK;
