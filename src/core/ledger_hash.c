/*-------------------------------------------------------------------------
 *
 * ledger_hash.c
 *	  SHA-256 digests of the ledger: journal hashes, per-account chains and
 *	  idempotency request hashes.
 *
 * A journal's hash covers its id, type, the journal it reverses and every
 * leg (account id, side, amount) in leg order. Each account carries a chain:
 * chain_v = H(chain_{v-1} || journal_hash || v || balance_after), advanced by
 * every journal that locks and changes the account. A global chain would
 * serialise every posting on one row; per-account chains ride on the row
 * lock the posting takes anyway, and every journal has at least one debit
 * leg, whose account is always locked, so every journal is in some chain.
 *
 * Owns: the byte layouts below. Changing one breaks verify_ledger() on
 * existing data: add a new layout version instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "utils/jsonb.h"

#include "core/pg_wallet.h"

static pg_cryptohash_ctx *
hash_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialise SHA-256");
	return ctx;
}

static void
hash_bytes(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not update SHA-256");
}

static void
hash_int64(pg_cryptohash_ctx *ctx, int64 value)
{
	uint8		buf[8];

	for (int i = 7; i >= 0; i--)
	{
		buf[i] = (uint8) (value & 0xff);
		value = (int64) ((uint64) value >> 8);
	}
	hash_bytes(ctx, buf, 8);
}

/* Strings are length-prefixed so that ("ab","c") and ("a","bc") differ. */
static void
hash_cstring(pg_cryptohash_ctx *ctx, const char *s)
{
	if (s == NULL)
	{
		hash_int64(ctx, -1);
		return;
	}
	hash_int64(ctx, (int64) strlen(s));
	hash_bytes(ctx, s, strlen(s));
}

static void
hash_end(pg_cryptohash_ctx *ctx, uint8 *out)
{
	if (pg_cryptohash_final(ctx, out, WALLET_HASH_LEN) < 0)
		elog(ERROR, "could not finalise SHA-256");
	pg_cryptohash_free(ctx);
}

void
ledger_journal_hash(int64 journal_id, const char *journal_type, int64 reverses_journal_id,
					int nlegs, const int64 *account_ids, const bool *is_debit,
					const int64 *amounts, uint8 *out)
{
	pg_cryptohash_ctx *ctx = hash_begin();

	hash_cstring(ctx, "pg_wallet journal v1");
	hash_int64(ctx, journal_id);
	hash_cstring(ctx, journal_type);
	hash_int64(ctx, reverses_journal_id);
	hash_int64(ctx, nlegs);
	for (int i = 0; i < nlegs; i++)
	{
		hash_int64(ctx, account_ids[i]);
		hash_bytes(ctx, is_debit[i] ? "D" : "C", 1);
		hash_int64(ctx, amounts[i]);
	}
	hash_end(ctx, out);
}

void
ledger_chain_hash(const uint8 *prev, int prev_len, const uint8 *journal_hash,
				  int64 version, int64 balance_after, uint8 *out)
{
	pg_cryptohash_ctx *ctx = hash_begin();

	hash_bytes(ctx, prev, prev_len);
	hash_bytes(ctx, journal_hash, WALLET_HASH_LEN);
	hash_int64(ctx, version);
	hash_int64(ctx, balance_after);
	hash_end(ctx, out);
}

/*
 * An amount as given, in a canonical decimal form: "+010.50" -> "10.5",
 * "7.00" -> "7". Text that is not a plain decimal is hashed as it is (such a
 * request is refused anyway, and its retry must hash the same).
 */
static char *
canonical_amount(const char *text)
{
	const char *p = text;
	bool		negative = false;
	char	   *out;
	char	   *end;
	size_t		len;

	if (*p == '+' || *p == '-')
		negative = (*p++ == '-');
	if (strspn(p, "0123456789.") != strlen(p) || strchr(p, '.') != strrchr(p, '.'))
		return pstrdup(text);
	while (*p == '0' && p[1] != '\0' && p[1] != '.')
		p++;
	out = psprintf("%s%s", negative ? "-" : "", p);
	if (strchr(out, '.') != NULL)
	{
		len = strlen(out);
		end = out + len - 1;
		while (end > out && *end == '0')
			*end-- = '\0';
		if (*end == '.')
			*end = '\0';
	}
	return out;
}

/*
 * What an idempotency key promises: the same request. Amounts given as text
 * are hashed in canonical decimal form, so "10.5" and "10.50" are the same
 * request; the hash never depends on the database's state, so a retry is
 * recognised even when an account it names has changed since.
 */
void
ledger_request_hash(LedgerRequest *req, uint8 *out)
{
	pg_cryptohash_ctx *ctx = hash_begin();

	hash_cstring(ctx, "pg_wallet request v1");
	hash_cstring(ctx, req->journal_type);
	hash_cstring(ctx, req->description);
	hash_cstring(ctx, req->metadata ? JsonbToCString(NULL, &req->metadata->root,
													 VARSIZE(req->metadata)) : NULL);
	hash_int64(ctx, req->reverses_journal_id);
	hash_int64(ctx, req->force ? 1 : 0);
	hash_cstring(ctx, req->release_account_number);
	hash_int64(ctx, req->release_amount_minor);
	hash_cstring(ctx, req->fee_type);
	hash_cstring(ctx, req->client_service_code);
	hash_int64(ctx, req->service_direction);
	hash_cstring(ctx, req->agent_account_number);
	hash_int64(ctx, req->nlegs);
	for (int i = 0; i < req->nlegs; i++)
	{
		hash_cstring(ctx, req->legs[i].account_number);
		hash_bytes(ctx, req->legs[i].side == SIDE_DEBIT ? "D" : "C", 1);
		if (req->legs[i].amount_text != NULL)
			hash_cstring(ctx, canonical_amount(req->legs[i].amount_text));
		else
			hash_int64(ctx, req->legs[i].amount_minor);
		hash_cstring(ctx, req->legs[i].description);
	}
	hash_end(ctx, out);
}
