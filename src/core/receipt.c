/*-------------------------------------------------------------------------
 *
 * receipt.c
 *	  Receipt codes: "RCP-<year>-<18 digits>", derived from the journal id.
 *
 * The 18 digits are a fixed bijection of the id modulo 10^18 (an affine map
 * whose multiplier is coprime with 10), so codes are unique, look unordered,
 * need no column or index, and decode back to the id. The year is the
 * journal's creation year (UTC); decoding checks it against the journal.
 *
 * Owns: encoding and decoding. Never: touches the database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "core/pg_wallet.h"

#define RECEIPT_MODULUS		UINT64CONST(1000000000000000000)
#define RECEIPT_MULTIPLIER	UINT64CONST(614889782588491411)
#define RECEIPT_OFFSET		UINT64CONST(271828182845904523)

PG_FUNCTION_INFO_V1(wallet_receipt_code);
PG_FUNCTION_INFO_V1(wallet_journal_id_from_receipt);

static uint64 inverse_multiplier = 0;

/* Modular inverse of the multiplier, by the extended Euclidean algorithm. */
static uint64
receipt_inverse(void)
{
	int128		t = 0,
				newt = 1;
	int128		r = RECEIPT_MODULUS,
				newr = RECEIPT_MULTIPLIER;

	if (inverse_multiplier != 0)
		return inverse_multiplier;
	while (newr != 0)
	{
		int128		q = r / newr;
		int128		tmp;

		tmp = t - q * newt;
		t = newt;
		newt = tmp;
		tmp = r - q * newr;
		r = newr;
		newr = tmp;
	}
	Assert(r == 1);
	if (t < 0)
		t += RECEIPT_MODULUS;
	inverse_multiplier = (uint64) t;
	return inverse_multiplier;
}

static int
timestamp_year(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return tm.tm_year;
}

char *
receipt_encode(int64 journal_id, TimestampTz created_at)
{
	uint128		code;

	Assert(journal_id > 0 && (uint64) journal_id < RECEIPT_MODULUS);
	code = ((uint128) journal_id * RECEIPT_MULTIPLIER + RECEIPT_OFFSET) % RECEIPT_MODULUS;
	return psprintf("RCP-%04d-%018llu", timestamp_year(created_at),
					(unsigned long long) code);
}

/*
 * The journal id a receipt code stands for, or 0 (when missing_ok) or an
 * error when the text is not a well-formed receipt code. The year is not
 * checked here: callers compare receipt_encode() of the journal they find.
 */
int64
receipt_decode(const char *receipt, bool missing_ok)
{
	uint64		digits = 0;
	uint128		id;
	size_t		len = strlen(receipt);

	if (len != 27 || strncmp(receipt, "RCP-", 4) != 0 || receipt[8] != '-')
		goto malformed;
	for (int i = 4; i < 27; i++)
	{
		if (i == 8)
			continue;
		if (!isdigit((unsigned char) receipt[i]))
			goto malformed;
		if (i > 8)
			digits = digits * 10 + (receipt[i] - '0');
	}
	id = ((uint128) ((digits + RECEIPT_MODULUS - RECEIPT_OFFSET) % RECEIPT_MODULUS) *
		  receipt_inverse()) % RECEIPT_MODULUS;
	return (int64) id;

malformed:
	if (missing_ok)
		return 0;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed receipt code \"%s\"", receipt),
			 errhint("A receipt code looks like RCP-2025-388065207815057408.")));
	return 0;
}

/*
 * receipt_code(journal_id bigint, created_at timestamptz) returns text
 */
Datum
wallet_receipt_code(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);

	if (id <= 0 || (uint64) id >= RECEIPT_MODULUS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("journal id %lld is out of range", (long long) id)));
	PG_RETURN_TEXT_P(cstring_to_text(receipt_encode(id, PG_GETARG_TIMESTAMPTZ(1))));
}

/*
 * journal_id_from_receipt(receipt text) returns bigint: the id the code
 * decodes to (not checked against the journals table), NULL if malformed.
 */
Datum
wallet_journal_id_from_receipt(PG_FUNCTION_ARGS)
{
	char	   *receipt = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		id;

	if (strlen(receipt) > 64)
		PG_RETURN_NULL();
	id = receipt_decode(receipt, true);
	if (id <= 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
