/*-------------------------------------------------------------------------
 *
 * fraud_verified.c
 *	  Step-up verifications presented in the current transaction: the
 *	  owners whose principal used up a verification token (identity's
 *	  consume_verification_token calls pg_wallet._fraud_verified), so that
 *	  a posting whose score asks for REQUIRE_VERIFICATION may go on in the
 *	  same transaction (fraud.c).
 *
 * Owns: the marks, kept in backend memory for the local transaction that
 * set them: an xact callback clears them at commit and abort, and a reader
 * checks the local transaction id as well. A mark is set only through
 * _fraud_verified, which PUBLIC cannot execute (grants.sql revokes every
 * function; only the extension's SECURITY DEFINER functions reach it).
 *
 * Never: reads identity's tables (identity is the layer above: it tells
 * the rules, never the other way round); keeps a token.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"

#include "core/pg_wallet.h"
#include "rules/fraud.h"

PG_FUNCTION_INFO_V1(wallet_fraud_verified);

#define VERIFIED_MAX 8
#define METHOD_MAX 20

typedef struct VerifiedOwner
{
	int64		owner_id;
	char		method[METHOD_MAX + 1];
} VerifiedOwner;

static VerifiedOwner verified[VERIFIED_MAX];
static int	nverified = 0;
static LocalTransactionId verified_lxid = InvalidLocalTransactionId;
static bool callback_registered = false;

static void
verified_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		nverified = 0;
}

/*
 * The method by which the owner was verified in this transaction
 * ("otp_sms", "totp", ...), or NULL when it was not.
 */
const char *
fraud_verified_method(int64 owner_id)
{
	if (verified_lxid != MyProc->lxid)
		return NULL;
	for (int i = 0; i < nverified; i++)
		if (verified[i].owner_id == owner_id)
			return verified[i].method;
	return NULL;
}

/*
 * _fraud_verified(owner_id bigint, method text) returns void: the owner
 * presented a step-up verification in this transaction.
 */
Datum
wallet_fraud_verified(PG_FUNCTION_ARGS)
{
	int64		owner_id;
	char	   *method;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("owner_id and method are required")));
	owner_id = PG_GETARG_INT64(0);
	method = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (method[0] == '\0' || strlen(method) > METHOD_MAX ||
		strspn(method, "abcdefghijklmnopqrstuvwxyz_") != strlen(method))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method must be 1 to %d lower-case letters or \"_\"", METHOD_MAX)));
	if (!callback_registered)
	{
		RegisterXactCallback(verified_xact_callback, NULL);
		callback_registered = true;
	}
	if (verified_lxid != MyProc->lxid)
	{
		nverified = 0;
		verified_lxid = MyProc->lxid;
	}
	for (int i = 0; i < nverified; i++)
		if (verified[i].owner_id == owner_id)
		{
			strlcpy(verified[i].method, method, sizeof(verified[i].method));
			PG_RETURN_VOID();
		}
	if (nverified == VERIFIED_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d owners can be verified in one transaction",
						VERIFIED_MAX)));
	verified[nverified].owner_id = owner_id;
	strlcpy(verified[nverified].method, method, sizeof(verified[nverified].method));
	nverified++;
	PG_RETURN_VOID();
}
