-- bench/cpu's procedure: N postings of one shape, a COMMIT after each, and this backend's CPU
-- (utime + stime from /proc/self/stat) per transfer in microseconds, returned in us. The pay
-- shape adds the CPU the outbox worker spent meanwhile (it moves the payments' queued events
-- into their streams), waiting for the queue to empty before reading it.
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench_cpu;
DROP FUNCTION IF EXISTS bench_cpu.ticks();	-- the form without an argument, of older runs
-- CPU ticks (utime + stime) of a process: this backend by default
CREATE OR REPLACE FUNCTION bench_cpu.ticks(stat text DEFAULT '/proc/self/stat') RETURNS bigint
LANGUAGE sql AS $$
	SELECT (f[12])::bigint + (f[13])::bigint
	FROM regexp_split_to_array(split_part(pg_read_file(stat), ') ', 2), ' ') f
$$;
-- CPU ticks of the outbox worker (0 when none runs here)
CREATE OR REPLACE FUNCTION bench_cpu.worker_ticks() RETURNS bigint LANGUAGE sql AS $$
	SELECT coalesce(sum(bench_cpu.ticks('/proc/' || w.pid || '/stat')), 0)::bigint
	FROM pg_stat_activity w WHERE w.backend_type = 'pg_wallet outbox'
$$;
CREATE OR REPLACE PROCEDURE bench_cpu.run(shape text, n int, INOUT us bigint)
LANGUAGE plpgsql AS $$
DECLARE
	accounts int := (SELECT count(*) FROM pg_wallet.accounts WHERE account_number LIKE 'B%');
	t0 bigint;
	a int;
	b int;
	calls int := CASE WHEN shape = 'batch' THEN greatest(n / 1000, 1) ELSE n END;
	per int := CASE WHEN shape = 'batch' THEN 1000 ELSE 1 END;
	batch jsonb;
	fee_id bigint;
	w0 bigint;
	merchant text;
BEGIN
	IF shape = 'fees' THEN		-- bench/run's (g): 1 %, at least 0.10 KES, for this run only
		fee_id := pg_wallet.create_fee_schedule('TRANSFER', 'PERCENTAGE', rate => 0.01,
			currency => 'KES', min_fee => 0.10, description => 'bench/cpu');
	END IF;
	IF shape = 'nofraud' THEN	-- bench/run's (i): fraud scoring off, for this run only
		UPDATE pg_wallet.fraud_settings SET is_enabled = false;
	END IF;
	IF shape = 'nokyc' THEN		-- uniform without KYC limits: tier 3's KES limits set aside
		CREATE TEMP TABLE IF NOT EXISTS bench_cpu_kyc AS
		SELECT * FROM pg_wallet.kyc_tier_limits WHERE false;
		WITH gone AS (DELETE FROM pg_wallet.kyc_tier_limits WHERE tier = 3 AND currency = 'KES'
					  RETURNING *)
		INSERT INTO bench_cpu_kyc SELECT * FROM gone;
	END IF;
	IF shape IN ('pay', 'paytr') THEN	-- bench/run's (j) and (k) made these
		IF to_regclass('public.bench_pay_users') IS NULL THEN
			RAISE EXCEPTION 'run bench/run with its pay shape first (BENCH_ONLY=pay)';
		END IF;
		SELECT p.id INTO STRICT merchant FROM pg_wallet.principals p
		JOIN pg_wallet.accounts x ON x.owner_id = p.owner_id AND x.account_number = 'MDEF'
		WHERE p.role = 'merchant';
	END IF;
	COMMIT;
	w0 := bench_cpu.worker_ticks();
	t0 := bench_cpu.ticks();
	FOR i IN 1 .. calls LOOP
		a := floor(random() * accounts)::int + 1;
		b := (a + floor(random() * (accounts - 1))::int) % accounts + 1;
		CASE shape
		WHEN 'ref' THEN
			PERFORM ref.transfer('R' || a, 'R' || b, ((floor(random() * 9901) + 100) / 100)::numeric,
								 gen_random_uuid()::text);
		WHEN 'uniform', 'fees', 'nofraud', 'nokyc' THEN
			PERFORM pg_wallet.transfer('B' || a, 'B' || b, ((floor(random() * 9901) + 100) / 100)::numeric);
		WHEN 'keyed' THEN
			PERFORM pg_wallet.transfer('B' || a, 'B' || b, ((floor(random() * 9901) + 100) / 100)::numeric,
									   gen_random_uuid()::text);
		WHEN 'hotsrc' THEN
			PERFORM pg_wallet.transfer('FLOAT1', 'B' || a, ((floor(random() * 9901) + 100) / 100)::numeric);
		WHEN 'hotsrcs' THEN		-- (d'): the striped float
			PERFORM pg_wallet.transfer('FLOATS', 'B' || a, ((floor(random() * 9901) + 100) / 100)::numeric);
		WHEN 'hotdir' THEN
			PERFORM pg_wallet.transfer('B' || a, 'MDIR', ((floor(random() * 9901) + 100) / 100)::numeric);
		WHEN 'paytr' THEN		-- (j): the transfer a payment posts, with its key
			PERFORM pg_wallet.transfer('B' || a, 'MDEF', ((floor(random() * 9901) + 100) / 100)::numeric,
									   'bench-' || txid_current());
		WHEN 'pay' THEN			-- (k): the wallet payment
			PERFORM pg_wallet.payment_create(u.principal, merchant,
				((floor(random() * 9901) + 100) / 100)::numeric, 'KES', 'bench-' || txid_current())
			FROM public.bench_pay_users u WHERE u.i = a;
		WHEN 'batch' THEN
			SELECT jsonb_agg(jsonb_build_object(
				'from', 'B' || s.a, 'to', 'B' || ((s.a + s.d - 1) % accounts + 1),
				'amount', ((floor(random() * 9901) + 100) / 100)::numeric(12, 2)::text))
			INTO batch
			FROM (SELECT floor(random() * accounts)::int + 1 AS a,
			             floor(random() * (accounts - 1))::int + 1 AS d
			      FROM generate_series(1, 1000)) s;
			PERFORM count(*) FROM pg_wallet.post_transfers(batch);
		ELSE
			RAISE EXCEPTION 'unknown shape %', shape;
		END CASE;
		COMMIT;
	END LOOP;
	us := bench_cpu.ticks() - t0;
	IF shape = 'pay' THEN		-- the worker's share: until it has moved every queued event
		FOR i IN 1 .. 3000 LOOP
			EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_wallet.event_queue);
			PERFORM pg_sleep(0.01);
			COMMIT;
		END LOOP;
		us := us + bench_cpu.worker_ticks() - w0;
	END IF;
	us := us * 10000 / (calls * per);	-- ticks are 10 ms (CLK_TCK 100)
	IF fee_id IS NOT NULL THEN
		PERFORM pg_wallet.set_fee_schedule_active(fee_id, false);
	END IF;
	IF shape = 'nofraud' THEN
		UPDATE pg_wallet.fraud_settings SET is_enabled = true;
	END IF;
	IF shape = 'nokyc' THEN
		INSERT INTO pg_wallet.kyc_tier_limits SELECT * FROM bench_cpu_kyc;
		DELETE FROM bench_cpu_kyc;
	END IF;
END $$;
