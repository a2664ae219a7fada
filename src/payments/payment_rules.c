/*-------------------------------------------------------------------------
 *
 * payment_rules.c
 *	  The rules of a payment that every payments path shares: who may pay (a
 *	  user), whom (a merchant that may be paid), from which wallet, into which
 *	  merchant account, the checks of a payment's arguments, and the dated
 *	  public ids. payment_create() (payment.c) calls them directly; SQL (card
 *	  payments, subscriptions, bill top-ups) through the _payment_* functions,
 *	  _merchant_principal and _dated_ref.
 *
 * Owns: those rules; their look-ups are index probes (core/direct.c: no
 * SQL statement per look-up, issue 13). Never: writes anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/direct.h"
#include "core/owners.h"
#include "core/pg_wallet.h"
#include "payments/payments.h"

PG_FUNCTION_INFO_V1(wallet_payment_check_args);
PG_FUNCTION_INFO_V1(wallet_payment_customer);
PG_FUNCTION_INFO_V1(wallet_merchant_principal);
PG_FUNCTION_INFO_V1(wallet_payment_merchant);
PG_FUNCTION_INFO_V1(wallet_payment_customer_wallet);
PG_FUNCTION_INFO_V1(wallet_payment_merchant_account);
PG_FUNCTION_INFO_V1(wallet_dated_ref);

#define MAX_METADATA_BYTES		2048
#define MAX_ID_CHARS			64	/* a merchantId or a wallet's number */

/* An error naming the request field it is about (the bridge shows it). */
#define field_error(code, field, ...) \
	ereport(ERROR, (errcode(code), errmsg(__VA_ARGS__), \
					err_generic_string(PG_DIAG_COLUMN_NAME, (field))))

int
text_chars(const char *s)
{
	return pg_mbstrlen_with_len(s, strlen(s));
}

/* A text column of the row in slot, or NULL. */
static char *
slot_text(DirectRead *r, TupleTableSlot *slot, const char *column)
{
	bool		isnull;
	Datum		d = direct_read_col(r, slot, column, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Whether a text column of the row found is exactly value (NULL: never). */
static bool
col_is(DirectRead *r, const char *column, const char *value)
{
	bool		isnull;
	Datum		d = direct_read_col(r, r->slot, column, &isnull);

	return !isnull && direct_text_is(d, value);
}

static int64
col_int64(DirectRead *r, TupleTableSlot *slot, const char *column)
{
	bool		isnull;
	Datum		d = direct_read_col(r, slot, column, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* ---------------------------------------------------------------------
 * The arguments
 * ---------------------------------------------------------------------
 */

/*
 * The checks of a payment's arguments that need no row, in the order the
 * API documents them (22023 / 22001 / WL010 naming the field). Any may be
 * NULL; a NULL reference or description is allowed. Returns the currency's
 * exponent (read with its active flag).
 */
int
payment_check_args(Datum amount, bool amount_null, const char *currency,
				   const char *reference, const char *description, Jsonb *metadata)
{
	bool		active = false;
	int			exponent = 0;

	if (currency != NULL && strlen(currency) == 3 &&
		currency[0] >= 'A' && currency[0] <= 'Z' && currency[1] >= 'A' &&
		currency[1] <= 'Z' && currency[2] >= 'A' && currency[2] <= 'Z')
	{
		DirectRead	r;
		bool		isnull;

		if (direct_read_by_key(&r, "currencies", "currencies_pkey", F_TEXTEQ,
				  CStringGetTextDatum(currency)))
		{
			active = DatumGetBool(direct_read_col(&r, r.slot, "is_active", &isnull));
			exponent = DatumGetInt16(direct_read_col(&r, r.slot, "exponent", &isnull));
		}
		direct_read_end(&r);
	}
	if (!active)
		field_error(ERRCODE_INVALID_PARAMETER_VALUE, "currency",
					"currency must be an active ISO 4217 code");
	if (amount_null ||
		!DatumGetBool(DirectFunctionCall2(numeric_gt, amount,
										  NumericGetDatum(int64_to_numeric(0)))))
		field_error(ERRCODE_WALLET_INVALID_AMOUNT, "amount", "Amount must be greater than 0");
	if (description != NULL && text_chars(description) > MAX_DESCRIPTION_CHARS)
		field_error(ERRCODE_STRING_DATA_RIGHT_TRUNCATION, "description",
					"description must be at most %d characters", MAX_DESCRIPTION_CHARS);
	if (metadata != NULL &&
		(!JB_ROOT_IS_OBJECT(metadata) ||
		 strlen(JsonbToCString(NULL, &metadata->root, VARSIZE(metadata))) > MAX_METADATA_BYTES))
		field_error(ERRCODE_INVALID_PARAMETER_VALUE, "metadata",
					"metadata must be a JSON object of at most %d bytes", MAX_METADATA_BYTES);
	if (reference != NULL &&
		(reference[0] == '\0' || text_chars(reference) > MAX_REFERENCE_CHARS))
		field_error(ERRCODE_INVALID_PARAMETER_VALUE, "reference",
					"reference must be 1 to %d characters", MAX_REFERENCE_CHARS);
	return exponent;
}

char *
arg_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(argno));
}

/* ---------------------------------------------------------------------
 * The parties
 * ---------------------------------------------------------------------
 */

/* The payer: a principal of role user; WL035 when there is none, WL031 otherwise. */
void
payment_customer(Datum customer_id, bool isnull, PayParty *c)
{
	memset(c, 0, sizeof(*c));
	if (!isnull)
	{
		DirectRead	r;

		c->found = direct_read_by_key(&r, "principals", "principals_pkey", F_UUID_EQ, customer_id);
		if (c->found)
		{
			c->row = ExecFetchSlotHeapTupleDatum(r.slot);
			c->owner_id = col_int64(&r, r.slot, "owner_id");
			c->role = slot_text(&r, r.slot, "role");
		}
		direct_read_end(&r);
	}
	if (!c->found)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_PRINCIPAL_NOT_FOUND),
				 errmsg("principal %s does not exist",
						isnull ? "NULL" : DatumGetCString(DirectFunctionCall1(uuid_out,
																			  customer_id)))));
	c->id = customer_id;
	if (c->role == NULL || strcmp(c->role, "user") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_FORBIDDEN),
				 errmsg("only a user pays a merchant")));
}

/* A merchantId: a uuid of at most 64 characters, any case. */
static bool
looks_like_uuid(const char *s)
{
	static const int groups[5] = {8, 4, 4, 4, 12};
	const char *p = s;

	if (strlen(s) > MAX_ID_CHARS)
		return false;
	for (int g = 0; g < 5; g++)
	{
		for (int i = 0; i < groups[g]; i++, p++)
			if (!isxdigit((unsigned char) *p))
				return false;
		if (g < 4 && *p++ != '-')
			return false;
	}
	return *p == '\0';
}

/*
 * The merchant principal a merchantId names (role merchant, its owner of
 * kind merchant) and a registered merchant's KYC status; found false when
 * there is none.
 */
static void
merchant_principal(const char *merchant_id, PayParty *m)
{
	DirectRead	r;
	Datum		id;
	bool		merchant;

	memset(m, 0, sizeof(*m));
	if (merchant_id == NULL || !looks_like_uuid(merchant_id))
		return;
	id = DirectFunctionCall1(uuid_in, CStringGetDatum(merchant_id));
	merchant = direct_read_by_key(&r, "principals", "principals_pkey", F_UUID_EQ, id) &&
		col_is(&r, "role", "merchant");
	if (merchant)
	{
		m->row = ExecFetchSlotHeapTupleDatum(r.slot);
		m->owner_id = col_int64(&r, r.slot, "owner_id");
		m->status = slot_text(&r, r.slot, "status");
		m->id = id;
	}
	direct_read_end(&r);
	if (!merchant)
		return;
	m->found = owner_kind_is(m->owner_id, "merchant");
	if (!m->found)
		return;
	/* a registered merchant's KYC status */
	if (direct_read_by_key(&r, "merchants", "merchants_pkey", F_UUID_EQ, id))
		m->kyc_status = slot_text(&r, r.slot, "kyc_status");
	direct_read_end(&r);
}

/*
 * The merchant a payment pays: WL085 when merchant_id names none; WL086
 * when it is not ACTIVE or, registered, its KYC is not APPROVED.
 */
void
payment_merchant(const char *merchant_id, PayParty *m)
{
	char	   *id;

	merchant_principal(merchant_id, m);
	if (!m->found)
		field_error(ERRCODE_WALLET_MERCHANT_NOT_FOUND, "merchantId", "merchant not found");
	id = DatumGetCString(DirectFunctionCall1(uuid_out, m->id));
	if (strcmp(m->status, "ACTIVE") != 0)
		field_error(ERRCODE_WALLET_MERCHANT_INACTIVE, "merchantId",
					"merchant %s is not active", id);
	/* a registered merchant is paid once an admin approved its KYC */
	if (m->kyc_status != NULL && strcmp(m->kyc_status, "APPROVED") != 0)
	{
		char	   *review = asc_tolower(m->kyc_status, strlen(m->kyc_status));

		field_error(ERRCODE_WALLET_MERCHANT_INACTIVE, "merchantId",
					"merchant %s is not active: its KYC review is %s", id, review);
	}
}

/* ---------------------------------------------------------------------
 * The accounts
 * ---------------------------------------------------------------------
 */

static void
account_from_slot(DirectRead *r, TupleTableSlot *slot, PayAccount *a)
{
	a->row = ExecFetchSlotHeapTupleDatum(slot);
	a->id = col_int64(r, slot, "id");
	a->number = slot_text(r, slot, "account_number");
	a->currency = slot_text(r, slot, "currency");
}

/* How an owner's account ranks as the one to use (lower first), or -1: not a candidate. */
typedef int (*AccountRank) (DirectRead *r, const char *currency);

/*
 * The owner's best account by rank, then oldest (lowest id) first, into a:
 * one scan of the owner's accounts (accounts_owner_idx); false when none is
 * a candidate.
 */
static bool
owner_account(int64 owner_id, const char *currency, AccountRank rank, PayAccount *a)
{
	DirectRead	r;
	ScanKeyData k;
	TupleTableSlot *best;
	int			best_rank = -1;
	int64		best_id = 0;

	direct_read_begin(&r, "accounts", "accounts_owner_idx");
	best = table_slot_create(r.rel, NULL);
	direct_key(&k, r.index, 1, F_INT8EQ, Int64GetDatum(owner_id));
	while (direct_read_next(&r, &k, 1))
	{
		int			rk = rank(&r, currency);
		int64		id = col_int64(&r, r.slot, "id");

		if (rk < 0 || (best_rank >= 0 && (rk > best_rank || (rk == best_rank && id > best_id))))
			continue;
		best_rank = rk;
		best_id = id;
		ExecCopySlot(best, r.slot);
	}
	if (best_rank >= 0)
		account_from_slot(&r, best, a);
	ExecDropSingleTupleTableSlot(best);
	direct_read_end(&r);
	return best_rank >= 0;
}

/* A customer's wallet in the currency, not CLOSED: ACTIVE first. */
static int
wallet_rank(DirectRead *r, const char *currency)
{
	if (!col_is(r, "currency", currency) || !col_is(r, "purpose", "WALLET") ||
		col_is(r, "status", "CLOSED"))
		return -1;
	return col_is(r, "status", "ACTIVE") ? 0 : 1;
}

/*
 * The customer's wallet a payment debits: the one named (one of the
 * owner's WALLET accounts, else WL005; in the currency, else WL009), else
 * the owner's default wallet in the currency (not CLOSED, ACTIVE first,
 * oldest first; WL087 when there is none).
 */
void
payment_customer_wallet(int64 owner_id, const char *currency, const char *wallet,
						PayAccount *a)
{
	if (wallet == NULL)
	{
		if (!owner_account(owner_id, currency, wallet_rank, a))
			field_error(ERRCODE_WALLET_NO_ACCOUNT_IN_CURRENCY, "currency",
						"you have no %s wallet to pay from", currency);
	}
	else
	{
		DirectRead	r;
		bool		found = false;

		if (text_chars(wallet) <= MAX_ID_CHARS)
		{
			if (direct_read_by_key(&r, "accounts", "accounts_account_number_key", F_TEXTEQ,
					  CStringGetTextDatum(wallet)) &&
				col_int64(&r, r.slot, "owner_id") == owner_id &&
				col_is(&r, "purpose", "WALLET"))
			{
				found = true;
				account_from_slot(&r, r.slot, a);
			}
			direct_read_end(&r);
		}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
					 errmsg("account not found")));
	}
	if (strcmp(a->currency, currency) != 0)
		field_error(ERRCODE_WALLET_CURRENCY_MISMATCH, "currency",
					"wallet %s holds %s, not %s", a->number, a->currency, currency);
}

/*
 * A merchant's account that payments in the currency credit, not CLOSED,
 * not a system account: ACTIVE first, then AVAILABLE_COLLECTIONS, then
 * HYBRID_ACCOUNT, then WALLET.
 */
static int
merchant_account_rank(DirectRead *r, const char *currency)
{
	static const char *const purposes[3] = {
		"AVAILABLE_COLLECTIONS", "HYBRID_ACCOUNT", "WALLET"
	};
	bool		isnull;

	if (!col_is(r, "currency", currency) || col_is(r, "status", "CLOSED") ||
		DatumGetBool(direct_read_col(r, r->slot, "is_system", &isnull)))
		return -1;
	for (int p = 0; p < 3; p++)
		if (col_is(r, "purpose", purposes[p]))
			return (col_is(r, "status", "ACTIVE") ? 0 : 3) + p;
	return -1;
}

/*
 * The merchant's account that payments in a currency credit: its
 * AVAILABLE_COLLECTIONS account, else its HYBRID_ACCOUNT, else its WALLET
 * (not CLOSED, ACTIVE first, oldest first), or WL087.
 */
void
payment_merchant_account(int64 owner_id, const char *currency, PayAccount *a)
{
	if (!owner_account(owner_id, currency, merchant_account_rank, a))
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_NO_ACCOUNT_IN_CURRENCY),
				 errmsg("the merchant has no account in %s", currency),
				 errdetail("The merchant cannot be paid in this currency."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "currency")));
}

/* ---------------------------------------------------------------------
 * Public ids
 * ---------------------------------------------------------------------
 */

/*
 * <prefix>-<yyyymmdd of the transaction's start, UTC>-<id, 6 digits at
 * least>: the public id of a payment (TXN), refund (RFD), top-up (BILL) or
 * dispute (DSP).
 */
char *
dated_ref(const char *prefix, int64 id)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		digits[32];
	int			len = snprintf(digits, sizeof(digits), INT64_FORMAT, id);

	if (timestamp2tm(GetCurrentTransactionStartTimestamp(), NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return psprintf("%s-%04d%02d%02d-%.*s%s", prefix, tm.tm_year, tm.tm_mon, tm.tm_mday,
					len < 6 ? 6 - len : 0, "000000", digits);
}

/* ---------------------------------------------------------------------
 * SQL entry points (connected to SPI by each)
 * ---------------------------------------------------------------------
 */

/* _payment_check_args(amount numeric, currency text, reference text, description text, metadata jsonb) */
Datum
wallet_payment_check_args(PG_FUNCTION_ARGS)
{
	SPI_connect();
	(void) payment_check_args(PG_GETARG_DATUM(0), PG_ARGISNULL(0), arg_text(fcinfo, 1),
					   arg_text(fcinfo, 2), arg_text(fcinfo, 3),
					   PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4));
	SPI_finish();
	PG_RETURN_VOID();
}

/* _payment_customer(customer_id uuid) returns pg_wallet.principals */
Datum
wallet_payment_customer(PG_FUNCTION_ARGS)
{
	PayParty	c;
	Datum		row;

	SPI_connect();
	payment_customer(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0), PG_ARGISNULL(0), &c);
	row = SPI_datumTransfer(c.row, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/* _merchant_principal(merchant_id text, OUT p pg_wallet.principals, OUT kyc_status text) */
Datum
wallet_merchant_principal(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	PayParty	m;
	Datum		values[2];
	bool		nulls[2] = {true, true};
	MemoryContext caller = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_merchant_principal must return a record");
	SPI_connect();
	merchant_principal(arg_text(fcinfo, 0), &m);
	if (m.found)
	{
		values[0] = SPI_datumTransfer(m.row, false, -1);
		nulls[0] = false;
		if (m.kyc_status != NULL)
		{
			MemoryContext spi = MemoryContextSwitchTo(caller);

			values[1] = CStringGetTextDatum(m.kyc_status);
			nulls[1] = false;
			MemoryContextSwitchTo(spi);
		}
	}
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* _payment_merchant(merchant_id text) returns pg_wallet.principals */
Datum
wallet_payment_merchant(PG_FUNCTION_ARGS)
{
	PayParty	m;
	Datum		row;

	SPI_connect();
	payment_merchant(arg_text(fcinfo, 0), &m);
	row = SPI_datumTransfer(m.row, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/* _payment_customer_wallet(owner_id bigint, currency text, wallet text) returns pg_wallet.accounts */
Datum
wallet_payment_customer_wallet(PG_FUNCTION_ARGS)
{
	PayAccount	a;
	Datum		row;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a payment's wallet needs an owner and a currency")));
	SPI_connect();
	payment_customer_wallet(PG_GETARG_INT64(0), arg_text(fcinfo, 1), arg_text(fcinfo, 2), &a);
	row = SPI_datumTransfer(a.row, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/* _payment_merchant_account(owner_id bigint, currency text) returns pg_wallet.accounts */
Datum
wallet_payment_merchant_account(PG_FUNCTION_ARGS)
{
	PayAccount	a;
	Datum		row;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a merchant's account needs an owner and a currency")));
	SPI_connect();
	payment_merchant_account(PG_GETARG_INT64(0), arg_text(fcinfo, 1), &a);
	row = SPI_datumTransfer(a.row, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/* _dated_ref(prefix text, id bigint) returns text */
Datum
wallet_dated_ref(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(dated_ref(TextDatumGetCString(PG_GETARG_DATUM(0)),
											   PG_GETARG_INT64(1))));
}

