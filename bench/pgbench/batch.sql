-- (e)/(f) batch: one call posts :batch uniform random transfers (from != to) atomically with
-- post_transfers. The jsonb is built in SQL, so the client sends one short statement.
-- Variables from bench/run: -D accounts=N -D batch=M.
SELECT count(*) AS posted
FROM pg_wallet.post_transfers((
	SELECT jsonb_agg(jsonb_build_object(
		'from', 'B' || s.a,
		'to', 'B' || ((s.a + s.d - 1) % :accounts + 1),
		'amount', ((floor(random() * 9901) + 100) / 100)::numeric(12, 2)::text))
	FROM (SELECT floor(random() * :accounts)::int + 1 AS a,
	             floor(random() * (:accounts - 1))::int + 1 AS d
	      FROM generate_series(1, :batch)) s));
