-- Amounts: exact decimal <-> int64 minor units with the ISO 4217 exponent.

SELECT pg_wallet.amount_parse('10.50', 'KES') AS kes,
       pg_wallet.amount_parse('1000', 'JPY') AS jpy,
       pg_wallet.amount_parse('1.234', 'BHD') AS bhd,
       pg_wallet.amount_parse('0.0001', 'CLF') AS clf,
       pg_wallet.amount_parse('-7.5', 'USD') AS negative,
       pg_wallet.amount_parse('+3', 'USD') AS plus;

-- numeric input, trailing zeros beyond the exponent are exact and accepted
SELECT pg_wallet.amount_parse(10.5::numeric, 'KES'),
       pg_wallet.amount_parse(96.0000::numeric, 'KES'),
       pg_wallet.amount_parse('96.0000', 'KES');

-- the largest and smallest values that fit
SELECT pg_wallet.amount_parse('92233720368547758.07', 'USD'),
       pg_wallet.amount_parse('-92233720368547758.08', 'USD');

-- refusals: excess decimals, garbage, overflow, NaN, infinities, unknown currency, NULL
SELECT err($$SELECT pg_wallet.amount_parse('1.001', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1.5', 'JPY')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1.2345', 'BHD')$$);
SELECT err($$SELECT pg_wallet.amount_parse('abc', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1.', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('.5', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1e3', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse(' 1', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1.2.3', 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('92233720368547758.08', 'USD')$$);
SELECT err($$SELECT pg_wallet.amount_parse('99999999999999999999999', 'JPY')$$);
SELECT err($$SELECT pg_wallet.amount_parse('NaN'::numeric, 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('Infinity'::numeric, 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('-Infinity'::numeric, 'KES')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1', 'XYZ')$$);
SELECT err($$SELECT pg_wallet.amount_parse('1', 'kes')$$);
SELECT err($$SELECT pg_wallet.amount_parse(repeat('1', 100), 'KES')$$);
SELECT pg_wallet.amount_parse(NULL::text, 'KES') IS NULL AS strict_null;

-- formatting back, with the currency's scale
SELECT pg_wallet.amount_format(1050, 'KES'), pg_wallet.amount_format(5, 'KES'),
       pg_wallet.amount_format(-5, 'KES'), pg_wallet.amount_format(1000, 'JPY'),
       pg_wallet.amount_format(1234, 'BHD'), pg_wallet.amount_format(0, 'USD'),
       pg_wallet.amount_format(-9223372036854775808, 'USD');
SELECT err($$SELECT pg_wallet.amount_format(1, 'XYZ')$$);
SELECT pg_wallet.minor_to_numeric(12345, 3::smallint);
SELECT err($$SELECT pg_wallet.minor_to_numeric(1, 5::smallint)$$);

-- round trip over many values and every exponent
SELECT count(*) AS mismatches
FROM generate_series(-2000, 2000) v, pg_wallet.currencies c
WHERE c.code IN ('KES', 'JPY', 'BHD', 'CLF')
  AND pg_wallet.amount_parse(pg_wallet.amount_format(v * 7919, c.code), c.code) <> v * 7919;

-- the currency table: ISO 4217 exponents
SELECT code, exponent, numeric_code FROM pg_wallet.currencies
WHERE code IN ('KES', 'USD', 'EUR', 'JPY', 'BHD', 'KWD', 'UGX', 'XOF', 'CLF', 'NGN', 'TZS')
ORDER BY code;
SELECT count(*) > 150 AS many, count(*) FILTER (WHERE exponent NOT BETWEEN 0 AND 4) AS bad
FROM pg_wallet.currencies;

-- receipt codes: derived from the journal id, decodable, distinct, shaped like the specs'
SELECT pg_wallet.receipt_code(1, '2025-12-07 10:30:00+00'),
       pg_wallet.receipt_code(2, '2025-12-07 10:30:00+00'),
       pg_wallet.receipt_code(999999, '2026-01-01 00:00:00+00');
SELECT pg_wallet.journal_id_from_receipt(pg_wallet.receipt_code(1, now())),
       pg_wallet.journal_id_from_receipt(pg_wallet.receipt_code(123456789, now()));
SELECT count(DISTINCT pg_wallet.receipt_code(i, '2025-01-01')) AS distinct_codes,
       count(*) FILTER (WHERE pg_wallet.journal_id_from_receipt(
           pg_wallet.receipt_code(i, '2025-01-01')) <> i) AS bad_round_trips
FROM generate_series(1, 20000) i;
SELECT pg_wallet.journal_id_from_receipt('RCP-2025-12') AS short,
       pg_wallet.journal_id_from_receipt('XYZ-2025-388065207815057408') AS prefix,
       pg_wallet.journal_id_from_receipt('RCP-2025-38806520781505740x') AS letter;
SELECT err($$SELECT pg_wallet.receipt_code(0, now())$$);
