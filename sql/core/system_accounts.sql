-- The platform's own accounts, one of each per currency, named SYS-<KIND>-<CUR>:
--   SYS-FEE-<CUR>      FEE_INCOME   fees charged; DEFERRED (every fee-bearing posting credits it)
--   SYS-FX-<CUR>       FX_POSITION  the platform's position from conversions; DEFERRED and
--                                   can_overdraw (both legs of every conversion touch one)
--   SYS-SUSPENSE-<CUR> SUSPENSE     unclassified funds; DEFERRED and can_overdraw
-- They are created here for every currency, so no posting ever has to create one.

INSERT INTO pg_wallet.owners (kind, name, external_ref)
VALUES ('platform', 'pg_wallet platform', 'pg_wallet:platform');

INSERT INTO pg_wallet.accounts (account_number, owner_id, currency, exponent, purpose, name,
	can_overdraw, credit_mode, is_system)
SELECT format('SYS-%s-%s', k.tag, c.code), o.id, c.code, c.exponent, k.purpose,
	format('Platform %s %s', k.label, c.code), k.overdraw, 'DEFERRED', true
FROM pg_wallet.currencies c
CROSS JOIN (VALUES ('FEE', 'FEE_INCOME', 'fee income', false),
                   ('FX', 'FX_POSITION', 'FX position', true),
                   ('SUSPENSE', 'SUSPENSE', 'suspense', true)) AS k(tag, purpose, label, overdraw)
CROSS JOIN pg_wallet.owners o
WHERE o.external_ref = 'pg_wallet:platform'
ORDER BY c.code, k.tag;
