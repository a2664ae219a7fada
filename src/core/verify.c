/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  The hash half of verify_ledger(): recompute every journal's hash from
 *	  its entries, and every account's chain from its entries, and report
 *	  each difference. (The sums half is SQL, in sql/core/verify.sql.)
 *
 * Reads the ledger through cursors in bounded chunks, so memory does not
 * grow with the ledger. Reports at most VERIFY_MAX_REPORTS rows per check.
 *
 * Owns: nothing it writes. Never: writes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "core/pg_wallet.h"

#define VERIFY_FETCH		10000
#define VERIFY_MAX_REPORTS	1000

PG_FUNCTION_INFO_V1(wallet_verify_hashes);

typedef struct Reporter
{
	ReturnSetInfo *rsinfo;
	int			count;
} Reporter;

static void
report(Reporter *rep, const char *check, const char *subject, const char *detail)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (++rep->count > VERIFY_MAX_REPORTS)
		return;
	values[0] = CStringGetTextDatum(check);
	values[1] = CStringGetTextDatum(subject);
	values[2] = CStringGetTextDatum(detail);
	tuplestore_putvalues(rep->rsinfo->setResult, rep->rsinfo->setDesc, values, nulls);
}

/* Copy a stored hash (bytea column, maybe NULL) into a fixed buffer. */
static void
copy_hash(HeapTuple tup, TupleDesc desc, int column, uint8 *out, int *len)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, column, &isnull);
	bytea	   *b;

	*len = -1;
	if (isnull)
		return;
	b = DatumGetByteaPP(d);
	*len = Min(VARSIZE_ANY_EXHDR(b), WALLET_HASH_LEN);
	memcpy(out, VARDATA_ANY(b), *len);
}

/* One journal being re-hashed. */
typedef struct JournalAcc
{
	int64		id;
	char		type[48];
	int64		reverses;
	uint8		stored[WALLET_HASH_LEN];
	int			stored_len;		/* -1: NULL */
	int			nlegs;
	int64		accounts[WALLET_MAX_LEGS];
	bool		debits[WALLET_MAX_LEGS];
	int64		amounts[WALLET_MAX_LEGS];
} JournalAcc;

static void
journal_finish(Reporter *rep, JournalAcc *j)
{
	uint8		hash[WALLET_HASH_LEN];

	if (j->id == 0)
		return;
	ledger_journal_hash(j->id, j->type, j->reverses, j->nlegs, j->accounts, j->debits,
						j->amounts, hash);
	if (j->stored_len != WALLET_HASH_LEN || memcmp(j->stored, hash, WALLET_HASH_LEN) != 0)
		report(rep, "journal_hash", psprintf("journal %lld", (long long) j->id),
			   "stored hash differs from the hash of its entries");
}

static void
verify_journals(Reporter *rep)
{
	Portal		portal;
	JournalAcc	j;

	memset(&j, 0, sizeof(j));
	portal = SPI_cursor_open_with_args("pg_wallet_verify_journals",
									   "SELECT j.id, j.journal_type,"
									   " coalesce(j.reverses_journal_id, 0), j.hash,"
									   " e.account_id, e.side = 'DR', e.amount"
									   " FROM pg_wallet.journals j"
									   " JOIN pg_wallet.entries e ON e.journal_id = j.id"
									   " WHERE j.status = 'POSTED' ORDER BY j.id, e.leg",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, VERIFY_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));

			if (id != j.id)
			{
				journal_finish(rep, &j);
				memset(&j, 0, sizeof(j));
				j.id = id;
				strlcpy(j.type, SPI_getvalue(tup, desc, 2), sizeof(j.type));
				j.reverses = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
				copy_hash(tup, desc, 4, j.stored, &j.stored_len);
			}
			if (j.nlegs == WALLET_MAX_LEGS)
			{
				report(rep, "journal_hash", psprintf("journal %lld", (long long) id),
					   "more entries than a journal can have");
				continue;
			}
			j.accounts[j.nlegs] = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
			j.debits[j.nlegs] = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
			j.amounts[j.nlegs] = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
			j.nlegs++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	journal_finish(rep, &j);
	SPI_cursor_close(portal);
}

/* One account's chain being recomputed. */
typedef struct ChainAcc
{
	int64		account_id;
	int64		stored_version;
	uint8		stored_chain[WALLET_HASH_LEN];
	int			stored_len;
	int64		version;		/* last version folded into chain */
	uint8		chain[WALLET_HASH_LEN];
	int			chain_len;
	/* the version being read: its journal hash and last balance_after */
	int64		pending_version;
	uint8		pending_jhash[WALLET_HASH_LEN];
	int64		pending_balance;
	bool		broken;
} ChainAcc;

static void
chain_step(Reporter *rep, ChainAcc *c)
{
	uint8		next[WALLET_HASH_LEN];

	if (c->pending_version == 0 || c->broken)
		return;
	if (c->pending_version != c->version + 1)
	{
		report(rep, "account_chain", psprintf("account %lld", (long long) c->account_id),
			   psprintf("version %lld follows version %lld",
						(long long) c->pending_version, (long long) c->version));
		c->broken = true;
		return;
	}
	ledger_chain_hash(c->chain, c->chain_len, c->pending_jhash, c->pending_version,
					  c->pending_balance, next);
	memcpy(c->chain, next, WALLET_HASH_LEN);
	c->chain_len = WALLET_HASH_LEN;
	c->version = c->pending_version;
	c->pending_version = 0;
}

static void
chain_finish(Reporter *rep, ChainAcc *c)
{
	if (c->account_id == 0)
		return;
	chain_step(rep, c);
	if (c->broken)
		return;
	if (c->version != c->stored_version)
		report(rep, "account_chain", psprintf("account %lld", (long long) c->account_id),
			   psprintf("account version is %lld but its entries reach version %lld",
						(long long) c->stored_version, (long long) c->version));
	else if (c->chain_len != c->stored_len ||
			 memcmp(c->chain, c->stored_chain, c->chain_len) != 0)
		report(rep, "account_chain", psprintf("account %lld", (long long) c->account_id),
			   "chain hash differs from the chain of its entries");
}

static void
chain_row(Reporter *rep, ChainAcc *c, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	int64		account_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	int64		version;
	int			len;

	if (account_id != c->account_id)
	{
		chain_finish(rep, c);
		memset(c, 0, sizeof(*c));
		c->account_id = account_id;
		c->stored_version = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		copy_hash(tup, desc, 3, c->stored_chain, &c->stored_len);
	}
	version = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	if (isnull)
		return;					/* account without locked entries */
	if (version != c->pending_version)
		chain_step(rep, c);
	c->pending_version = version;
	c->pending_balance = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	memset(c->pending_jhash, 0, WALLET_HASH_LEN);
	copy_hash(tup, desc, 6, c->pending_jhash, &len);
}

static void
verify_chains(Reporter *rep)
{
	Portal		portal;
	ChainAcc	c;

	memset(&c, 0, sizeof(c));
	portal = SPI_cursor_open_with_args("pg_wallet_verify_chains",
									   "SELECT a.id, a.version, a.chain_hash,"
									   " e.account_version, e.balance_after, j.hash"
									   " FROM pg_wallet.accounts a"
									   " LEFT JOIN pg_wallet.entries e ON e.account_id = a.id"
									   "  AND e.account_version IS NOT NULL"
									   " LEFT JOIN pg_wallet.journals j ON j.id = e.journal_id"
									   " ORDER BY a.id, e.account_version, e.leg",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, VERIFY_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
			chain_row(rep, &c, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
		SPI_freetuptable(SPI_tuptable);
	}
	chain_finish(rep, &c);
	SPI_cursor_close(portal);
}

/*
 * _verify_hashes() returns setof ledger_violation
 */
Datum
wallet_verify_hashes(PG_FUNCTION_ARGS)
{
	Reporter	rep;

	InitMaterializedSRF(fcinfo, 0);
	rep.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rep.count = 0;
	SPI_connect();
	verify_journals(&rep);
	rep.count = 0;
	verify_chains(&rep);
	SPI_finish();
	return (Datum) 0;
}
