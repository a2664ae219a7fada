/*-------------------------------------------------------------------------
 *
 * services.c
 *	  Client services (WaaS): which client a service belongs to, whether it
 *	  allows credits or debits, and the amounts it accepts. Checked inside
 *	  the posting path for requests that name a service.
 *
 * Owns: client_services semantics. Never: writes tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "rules/rules_internal.h"

static SPIPlanPtr services_plan = NULL;

void
load_services(RulesState *st, Column *codes)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];

	st->nservices = 0;
	if (codes->n == 0)
		return;
	wallet_plan(&services_plan,
				"SELECT code, id, client_owner_id, allow_credit, allow_debit, is_active,"
				" minimum_amount_e4, maximum_amount_e4"
				" FROM pg_wallet.client_services WHERE code = ANY($1)",
				1, argtypes);
	values[0] = column_array(codes);
	if (SPI_execute_plan(services_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "client service look-up failed");
	st->services = palloc0(sizeof(ClientService) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ClientService *cs = &st->services[st->nservices++];

		cs->code = SPI_getvalue(tup, desc, 1);
		cs->id = get_int64(tup, desc, 2);
		cs->client_owner_id = get_int64(tup, desc, 3);
		cs->allow_credit = get_bool(tup, desc, 4);
		cs->allow_debit = get_bool(tup, desc, 5);
		cs->active = get_bool(tup, desc, 6);
		cs->min_e4 = get_int64(tup, desc, 7);
		cs->max_e4 = get_int64(tup, desc, 8);
	}
}

ClientService *
find_service(RulesState *st, const char *code)
{
	for (int i = 0; i < st->nservices; i++)
		if (strcmp(st->services[i].code, code) == 0)
			return &st->services[i];
	return NULL;
}

/* The client service's checks; *service_id is set for the fee match. */
bool
check_service(RulesState *st, LedgerRequest *req, const LedgerAccountView *accts,
			  int64 *service_id, LedgerRefusal *r)
{
	ClientService *cs = find_service(st, req->client_service_code);
	bool		credit = req->service_direction == 'C';
	const LedgerAccountView *client_account = credit ? &accts[1] : &accts[0];
	int64		amount = req->legs[0].amount_minor;
	int128		amount_e4 = minor_to_e4(amount, client_account->exponent);

	if (cs == NULL)
		return ledger_refuse(r, ERRCODE_WALLET_SERVICE_NOT_FOUND,
					         psprintf("client service %s does not exist", req->client_service_code),
					         NULL);
	*service_id = cs->id;
	if (!cs->active)
		return ledger_refuse(r, ERRCODE_WALLET_SERVICE_REFUSED,
					         psprintf("client service %s is not active", cs->code), NULL);
	if (credit ? !cs->allow_credit : !cs->allow_debit)
		return ledger_refuse(r, ERRCODE_WALLET_SERVICE_REFUSED,
					         psprintf("client service %s does not allow %s transactions", cs->code,
							          credit ? "CREDIT" : "DEBIT"), NULL);
	if (client_account->owner_id != cs->client_owner_id)
		return ledger_refuse(r, ERRCODE_WALLET_SERVICE_REFUSED,
					         psprintf("account %s does not belong to the client of service %s",
							          client_account->account_number, cs->code), NULL);
	if (amount_e4 < cs->min_e4 || (cs->max_e4 >= 0 && amount_e4 > cs->max_e4))
		return ledger_refuse(r, ERRCODE_WALLET_SERVICE_AMOUNT,
					         psprintf("amount %s %s is outside the limits of client service %s",
							          amount_to_cstring(amount, client_account->exponent),
							          client_account->currency, cs->code),
					         psprintf("The service allows %s to %s.", e4_to_cstring(cs->min_e4),
							          cs->max_e4 >= 0 ? e4_to_cstring(cs->max_e4) : "any amount"));
	return true;
}
