-- bench/run's `pay` shape: a Tribble wallet payment (pg_wallet.payment_create, the payments
-- layer: the TRANSFER posting, the payments row, the idempotency claim of its reference, the
-- transaction:completed events of both parties) from a random user to the DEFERRED merchant
-- MDEF, whose principal is :merchant. Users are B1..BN with principals in public.bench_pay_users
-- (one index probe, as the bridge's token check resolves the caller). -D accounts=N
-- -D merchant='<uuid>'
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT pg_wallet.payment_create(u.principal, :merchant, :amt * 0.01, 'KES',
	'bench-' || txid_current()) ->> 'status'
FROM public.bench_pay_users u WHERE u.i = :a;
