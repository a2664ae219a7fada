/*-------------------------------------------------------------------------
 *
 * owners.c
 *	  The one look-up of an owner's kind (owners.kind, which never changes
 *	  once the owner exists): fraud scoring asks whether a payer is a user,
 *	  payments whether a payee is a merchant. A primary key probe through
 *	  core/direct.c, no SQL statement.
 *
 * Owns: reading owners.kind in C. Never: writes an owner; caches (callers
 * that ask often keep their own answers: rules/fraud_stats.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/fmgroids.h"

#include "core/direct.h"
#include "core/owners.h"

/* Whether the owner exists and is of this kind. */
bool
owner_kind_is(int64 owner_id, const char *kind)
{
	DirectRead	r;
	bool		isnull;
	bool		is = false;

	if (direct_read_by_key(&r, "owners", "owners_pkey", F_INT8EQ, Int64GetDatum(owner_id)))
	{
		Datum		k = direct_read_col(&r, r.slot, "kind", &isnull);

		is = !isnull && direct_text_is(k, kind);
	}
	direct_read_end(&r);
	return is;
}
