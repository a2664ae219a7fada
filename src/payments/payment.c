/*-------------------------------------------------------------------------
 *
 * payment.c
 *	  A wallet payment (Tribble POST /transactions) in one C call, over the
 *	  payment rules (payment_rules.c), the posting path and the one
 *	  idempotency claim.
 *
 *	  payment_create() was PL/pgSQL over these helpers: a dozen nested
 *	  function calls and statements around the ledger's transfer, 770 us of
 *	  backend CPU per payment against the transfer's 340 (issue 13, "payment
 *	  >= 0.8 x a plain transfer"). Here the look-ups are saved plans run in
 *	  one SPI connection and the transfer is ledger_post() itself.
 *
 * Owns: the wallet payment's orchestration, its request hash, its payments
 * row (written through core/direct.c, its CHECKs in C).
 * Never: moves money but through ledger_post (the one posting path); writes
 * a ledger table; shapes an answer or an event (payment_answer.c does).
 * Locking: none of its own: the posting locks the two accounts (ledger
 * core), the idempotency claim serialises retries (idempotency.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/direct.h"
#include "core/idempotency.h"
#include "core/pg_wallet.h"
#include "payments/payments.h"

PG_FUNCTION_INFO_V1(wallet_payment_create);

#define PAYMENT_KIND			"payment"
#define MAX_ERROR_CHARS			500	/* and a posting's description */

static SPIPlanPtr replay_plan = NULL;

/* ---------------------------------------------------------------------
 * The wallet payment
 * ---------------------------------------------------------------------
 */

/* The arguments of payment_create, read once. */
typedef struct PaymentArgs
{
	Datum		customer_id;
	bool		customer_null;
	char	   *merchant_id;
	Datum		amount;
	bool		amount_null;
	char	   *currency;
	char	   *reference;
	char	   *description;
	Jsonb	   *metadata;
	char	   *wallet;
} PaymentArgs;

/*
 * The request's hash: sha256 of 'payment|<wallet id>|<merchant id>|<amount
 * minor>|<currency>[|<description>][|<metadata as text>]', the form the
 * stored keys of earlier versions were made with.
 */
static void
payment_hash(const PaymentArgs *a, int64 wallet_id, Datum merchant_id, int64 amount_minor,
			 uint8 *out)
{
	StringInfoData s;
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	initStringInfo(&s);
	appendStringInfo(&s, "payment|" INT64_FORMAT "|%s|" INT64_FORMAT "|%s", wallet_id,
					 DatumGetCString(DirectFunctionCall1(uuid_out, merchant_id)),
					 amount_minor, a->currency);
	if (a->description != NULL)
		appendStringInfo(&s, "|%s", a->description);
	if (a->metadata != NULL)
		appendStringInfo(&s, "|%s",
						 JsonbToCString(NULL, &a->metadata->root, VARSIZE(a->metadata)));
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) s.data, s.len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute the payment's hash");
	pg_cryptohash_free(ctx);
}

/* The answer of POST /transactions for payment `id`, replayed. */
static Datum
payment_replay(int64 id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		isnull;
	PaymentView p;

	wallet_plan(&replay_plan, "SELECT x FROM pg_wallet.payments x WHERE x.id = $1", 1,
				argtypes);
	if (SPI_execute_plan(replay_plan, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "payment " INT64_FORMAT " is missing", id);
	payment_view_from_row(DatumGetHeapTupleHeader(SPI_getbinval(SPI_tuptable->vals[0],
																  SPI_tuptable->tupdesc, 1,
																  &isnull)), &p);
	return payment_answer(&p, true);
}

/*
 * Post the payment's TRANSFER through the ledger core, its refusal recorded
 * (the REFUSED journal the payment's fraud score points at). Without a key of
 * its own: the payment's claim (kind payment, under the client's reference)
 * is the one claim; a key per transfer, always new, was a second index probe
 * and a second claim row per payment for no retry to find.
 */
static void
payment_post(const PaymentArgs *a, const char *ref, const PayAccount *src,
			 const PayAccount *dst, int64 amount_minor, LedgerResult *res)
{
	LedgerRequest req;
	char	   *description;
	JsonbParseState *state = NULL;

	memset(&req, 0, sizeof(req));
	req.journal_type = "TRANSFER";
	req.legs = palloc0(sizeof(LedgerLeg) * WALLET_MAX_LEGS);	/* the rules add fee legs */
	ledger_add_leg(&req, src->number, SIDE_DEBIT, amount_minor, NULL);
	ledger_add_leg(&req, dst->number, SIDE_CREDIT, amount_minor, NULL);
	description = a->description ? a->description : psprintf("Payment %s", ref);
	req.description = pnstrdup(description,
							   pg_mbcharcliplen(description, strlen(description),
												MAX_ERROR_CHARS));
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	jsonb_put_text(&state, "payment", ref);
	req.metadata = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
	req.fee_type = "TRANSFER";
	req.service_direction = 'D';
	req.record_refusal = true;
	ledger_post(&req, res);
}

/* A refusal's message as the payment keeps it (500 characters at most). */
static char *
error_message(const LedgerResult *res)
{
	const char *msg = res->message ? res->message : "";

	return pnstrdup(msg, pg_mbcharcliplen(msg, strlen(msg), MAX_ERROR_CHARS));
}

/*
 * The payments row, written through core/direct.c as the ledger writes its
 * own (one executor start and 14 CHECK expressions compiled per SQL INSERT
 * were a tenth of a payment's CPU): every column is set here, defaults
 * included, and the CHECKs of payments/payments_tables.sql named below are
 * enforced in C (row_checks); any other still runs (direct.c).
 */
enum
{
	P_ID, P_REF, P_CUSTOMER_OWNER, P_CUSTOMER, P_MERCHANT_OWNER, P_MERCHANT, P_ACCOUNT,
	P_MERCHANT_ACCOUNT, P_AMOUNT, P_CURRENCY, P_FEE, P_REFUNDED, P_STATUS, P_METHOD, P_DESC,
	P_METADATA, P_REFERENCE, P_HASH, P_JOURNAL, P_HOLD, P_SCORE, P_ERROR_CODE, P_ERROR_MESSAGE,
	P_CREATED, P_COMPLETED, P_NCOLS
};
static const char *const payment_columns[P_NCOLS] = {
	"id", "transaction_ref", "customer_owner_id", "customer_principal_id",
	"merchant_owner_id", "merchant_principal_id", "account_id", "merchant_account_id",
	"amount_minor", "currency", "fee_minor", "refunded_minor", "status", "payment_method",
	"description", "metadata", "reference", "request_hash", "journal_id", "hold_id",
	"fraud_score_id", "error_code", "error_message", "created_at", "completed_at"
};
static const char *const payment_checks[] = {
	"payments_amount_minor_check", "payments_check", "payments_check1", "payments_check2",
	"payments_currency_check", "payments_description_check", "payments_error_code_check",
	"payments_error_message_check", "payments_fee_minor_check", "payments_metadata_check",
	"payments_payment_method_check", "payments_reference_check", "payments_status_check",
	"payments_transaction_ref_check", NULL
};

static bool
code_is(const char *s, int len, bool digits)
{
	if (s == NULL || strlen(s) != len)
		return false;
	for (int i = 0; i < len; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(digits && s[i] >= '0' && s[i] <= '9'))
			return false;
	return true;
}

/* payments' CHECKs (payments_tables.sql) over the row payment_insert writes */
static void
row_checks(DirectTable *t, const PaymentView *p, int64 fee_minor, const PaymentArgs *a)
{
	bool		failed = strcmp(p->status, "FAILED") == 0;

	if (p->amount_minor <= 0)
		direct_violated(t, "payments_amount_minor_check");
	if (!code_is(p->currency, 3, false))
		direct_violated(t, "payments_currency_check");
	if (fee_minor < 0)
		direct_violated(t, "payments_fee_minor_check");
	if (!failed && strcmp(p->status, "SUCCESS") != 0 && strcmp(p->status, "PROCESSING") != 0)
		direct_violated(t, "payments_status_check");
	if (a->description && text_chars(a->description) > MAX_DESCRIPTION_CHARS)
		direct_violated(t, "payments_description_check");
	if (a->reference && (a->reference[0] == '\0' ||
						 text_chars(a->reference) > MAX_REFERENCE_CHARS))
		direct_violated(t, "payments_reference_check");
	if (p->error_code && !code_is(p->error_code, 5, true))
		direct_violated(t, "payments_error_code_check");
	if (p->error_message && text_chars(p->error_message) > MAX_ERROR_CHARS)
		direct_violated(t, "payments_error_message_check");
	if (strlen(p->transaction_ref) > 64)
		direct_violated(t, "payments_transaction_ref_check");
	if (strcmp(p->status, "SUCCESS") == 0 && p->journal_id == 0)
		direct_violated(t, "payments_check1");
	if (failed != (p->error_code != NULL))
		direct_violated(t, "payments_check2");
	/*
	 * payments_check (refunded 0 <= amount), payments_payment_method_check
	 * ('wallet') and payments_metadata_check (payment_check_args checked the
	 * metadata) hold by construction
	 */
}

/* Write the payments row of a posted, held or refused payment. */
static void
payment_insert(const PaymentArgs *a, int64 id, const PaymentView *p, int64 account_id,
			   int64 merchant_account_id, int64 fee_minor, const uint8 *hash)
{
	DirectTable t;
	AttrNumber	att[P_NCOLS];
	TupleTableSlot *slot;
	Datum		d;
	bool		null;

	direct_begin(&t, "payments", payment_checks, false);
	direct_attnums(t.rel, payment_columns, P_NCOLS, att);
	row_checks(&t, p, fee_minor, a);
	slot = direct_row(&t);
	direct_set(slot, att[P_ID], Int64GetDatum(id), false);
	direct_set(slot, att[P_REF], CStringGetTextDatum(p->transaction_ref), false);
	direct_set(slot, att[P_CUSTOMER_OWNER], Int64GetDatum(p->customer_owner_id), false);
	direct_set(slot, att[P_CUSTOMER], p->customer_principal_id, false);
	direct_set(slot, att[P_MERCHANT_OWNER], Int64GetDatum(p->merchant_owner_id), false);
	direct_set(slot, att[P_MERCHANT], p->merchant_principal_id, false);
	direct_set(slot, att[P_ACCOUNT], Int64GetDatum(account_id), false);
	direct_set(slot, att[P_MERCHANT_ACCOUNT], Int64GetDatum(merchant_account_id), false);
	direct_set(slot, att[P_AMOUNT], Int64GetDatum(p->amount_minor), false);
	direct_set(slot, att[P_CURRENCY], CStringGetTextDatum(p->currency), false);
	direct_set(slot, att[P_FEE], Int64GetDatum(fee_minor), false);
	direct_set(slot, att[P_REFUNDED], Int64GetDatum(0), false);
	direct_set(slot, att[P_STATUS], CStringGetTextDatum(p->status), false);
	direct_set(slot, att[P_METHOD], CStringGetTextDatum("wallet"), false);
	d = text_datum_or_null(a->description, &null);	/* (null is set by the call) */
	direct_set(slot, att[P_DESC], d, null);
	direct_set(slot, att[P_METADATA], a->metadata ? JsonbPGetDatum(a->metadata)
			   : DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")), false);
	d = text_datum_or_null(a->reference, &null);
	direct_set(slot, att[P_REFERENCE], d, null);
	direct_set(slot, att[P_HASH], bytea_datum(hash, WALLET_HASH_LEN), false);
	direct_set(slot, att[P_JOURNAL], Int64GetDatum(p->journal_id), p->journal_id == 0);
	direct_set(slot, att[P_HOLD], Int64GetDatum(p->hold_id), p->hold_id == 0);
	direct_set(slot, att[P_SCORE], (Datum) 0, true);
	d = text_datum_or_null(p->error_code, &null);
	direct_set(slot, att[P_ERROR_CODE], d, null);
	d = text_datum_or_null(p->error_message, &null);
	direct_set(slot, att[P_ERROR_MESSAGE], d, null);
	direct_set(slot, att[P_CREATED], TimestampTzGetDatum(p->created_at), false);
	direct_set(slot, att[P_COMPLETED], TimestampTzGetDatum(p->completed_at),
			   p->completed_at == 0);
	direct_end(&t);
}

/*
 * The payment itself, connected to SPI: the checks, the parties and their
 * accounts, the one idempotency claim (kind payment under the customer's
 * owner; a retry gets the payment its reference made, whatever became of
 * it), the TRANSFER, the row, the event, the answer.
 */
static Datum
payment_create(const PaymentArgs *a)
{
	PayParty	c, m;
	PayAccount	src, dst;
	int64		amount_minor, earlier, id;
	uint8		hash[WALLET_HASH_LEN];
	char	   *ref;
	LedgerResult res;
	bool		refused;
	PaymentView view;

	memset(&view, 0, sizeof(view));
	view.exponent = payment_check_args(a->amount, a->amount_null, a->currency, a->reference,
									   a->description, a->metadata);
	amount_minor = amount_from_numeric(a->amount, view.exponent, a->currency);
	payment_customer(a->customer_id, a->customer_null, &c);
	payment_merchant(a->merchant_id, &m);
	payment_customer_wallet(c.owner_id, a->currency, a->wallet, &src);
	payment_merchant_account(m.owner_id, a->currency, &dst);
	payment_hash(a, src.id, m.id, amount_minor, hash);
	earlier = a->reference ? idem_find(c.owner_id, a->reference, PAYMENT_KIND, hash) : 0;
	if (earlier != 0)
		return payment_replay(earlier);

	id = direct_nextval("payments_id_seq");
	ref = dated_ref("TXN", id);
	memset(&res, 0, sizeof(res));
	payment_post(a, ref, &src, &dst, amount_minor, &res);
	refused = !res.posted && !res.held;
	view.transaction_ref = ref;
	view.customer_owner_id = c.owner_id;
	view.customer_principal_id = c.id;
	view.merchant_owner_id = m.owner_id;
	view.merchant_principal_id = m.id;
	view.amount_minor = amount_minor;
	view.currency = a->currency;
	view.status = res.posted ? "SUCCESS" : res.held ? "PROCESSING" : "FAILED";
	view.journal_id = res.journal_id;
	view.hold_id = res.hold_id;
	view.error_code = refused ? res.sqlstate : NULL;
	view.error_message = refused ? error_message(&res) : NULL;
	view.created_at = GetCurrentTransactionStartTimestamp();	/* the rows' now() */
	view.completed_at = res.posted ? view.created_at : 0;
	payment_insert(a, id, &view, src.id, dst.id, res.posted ? res.fee_minor : 0, hash);
	if (a->reference)
		idem_record(c.owner_id, a->reference, PAYMENT_KIND, hash, id);
	if (res.posted)
		payment_completed_event(&view);
	return payment_answer(&view, false);
}

/* ---------------------------------------------------------------------
 * SQL entry point
 * ---------------------------------------------------------------------
 */

/*
 * payment_create(customer_id uuid, merchant_id text, amount numeric,
 *				  currency text, reference text, description text,
 *				  metadata jsonb, wallet text) returns jsonb
 */
Datum
wallet_payment_create(PG_FUNCTION_ARGS)
{
	PaymentArgs a;
	Datum		answer;

	a.customer_null = PG_ARGISNULL(0);
	a.customer_id = a.customer_null ? (Datum) 0 : PG_GETARG_DATUM(0);
	a.merchant_id = arg_text(fcinfo, 1);
	a.amount_null = PG_ARGISNULL(2);
	a.amount = a.amount_null ? (Datum) 0 : PG_GETARG_DATUM(2);
	a.currency = arg_text(fcinfo, 3);
	a.reference = arg_text(fcinfo, 4);
	a.description = arg_text(fcinfo, 5);
	a.metadata = PG_ARGISNULL(6) ? NULL : PG_GETARG_JSONB_P(6);
	a.wallet = arg_text(fcinfo, 7);
	SPI_connect();
	answer = SPI_datumTransfer(payment_create(&a), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(answer);
}
