/*-------------------------------------------------------------------------
 *
 * payments.h
 *	  The payments layer's C (src/payments/): a wallet payment in one call
 *	  (payment.c) and what every payment path shows of a payment
 *	  (payment_answer.c). Above core and partners; nothing below includes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PAYMENTS_PAYMENTS_H
#define PAYMENTS_PAYMENTS_H

#include "access/htup.h"
#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* A payments row as the answers and the event read it (0 / NULL: SQL NULL). */
typedef struct PaymentView
{
	const char *transaction_ref;
	int64		customer_owner_id;
	Datum		customer_principal_id;	/* uuid */
	int64		merchant_owner_id;
	Datum		merchant_principal_id;	/* uuid */
	int64		amount_minor;
	const char *currency;
	int			exponent;		/* the currency's */
	const char *status;
	int64		journal_id;
	int64		hold_id;
	int64		fraud_score_id;
	const char *error_code;
	const char *error_message;
	TimestampTz created_at;
	TimestampTz completed_at;
} PaymentView;

/* payment_rules.c: a principal as the payment rules read it: its row and what they test. */
typedef struct PayParty
{
	bool		found;
	Datum		row;			/* pg_wallet.principals */
	Datum		id;				/* uuid */
	int64		owner_id;
	char	   *role;
	char	   *status;
	char	   *kyc_status;		/* a registered merchant's, else NULL */
} PayParty;

/* An account a payment debits or credits: its row and what the posting needs. */
typedef struct PayAccount
{
	Datum		row;			/* pg_wallet.accounts */
	int64		id;
	char	   *number;
	char	   *currency;
} PayAccount;

/* payment_rules.c (index probes: no SPI connection needed) */
#define MAX_DESCRIPTION_CHARS	200
#define MAX_REFERENCE_CHARS		100
extern int	text_chars(const char *s);
extern char *arg_text(FunctionCallInfo fcinfo, int argno);
extern int	payment_check_args(Datum amount, bool amount_null, const char *currency,
							   const char *reference, const char *description,
							   Jsonb *metadata);
extern void payment_customer(Datum customer_id, bool isnull, PayParty *c);
extern void payment_merchant(const char *merchant_id, PayParty *m);
extern void payment_customer_wallet(int64 owner_id, const char *currency, const char *wallet,
									PayAccount *a);
extern void payment_merchant_account(int64 owner_id, const char *currency, PayAccount *a);
extern char *dated_ref(const char *prefix, int64 id);

/* payment_answer.c; connected to SPI */
extern void payment_view_from_row(HeapTupleHeader row, PaymentView *p);
extern Datum payment_answer(const PaymentView *p, bool replayed);
extern void payment_completed_event(const PaymentView *p);

#endif							/* PAYMENTS_PAYMENTS_H */
