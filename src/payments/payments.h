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
	const char *status;
	int64		journal_id;
	int64		hold_id;
	int64		fraud_score_id;
	const char *error_code;
	const char *error_message;
	TimestampTz created_at;
	TimestampTz completed_at;
} PaymentView;

/* payment_answer.c; connected to SPI */
extern void payment_view_from_row(HeapTupleHeader row, PaymentView *p);
extern Datum payment_answer(const PaymentView *p, bool replayed);
extern void payment_completed_event(const PaymentView *p);

#endif							/* PAYMENTS_PAYMENTS_H */
