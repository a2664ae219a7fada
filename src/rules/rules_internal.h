/*-------------------------------------------------------------------------
 *
 * rules_internal.h
 *	  Private types of the money rules, shared by fees.c, services.c,
 *	  limits.c (each below) and rules.c (the plug-in that applies them). The
 *	  rules see the core only through core/ledger_rules.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RULES_INTERNAL_H
#define RULES_INTERNAL_H

#include "utils/date.h"

#include "core/ledger_rules.h"

#define MAX_TIERS 32

typedef struct ClientService
{
	char	   *code;
	int64		id;
	int64		client_owner_id;
	bool		allow_credit;
	bool		allow_debit;
	bool		active;
	int64		min_e4;
	int64		max_e4;			/* -1: none */
} ClientService;

typedef struct FeeSchedule
{
	int64		id;
	char	   *type;
	int64		service_id;		/* 0: any */
	char	   *currency;		/* "": any */
	int64		band_min_e4;	/* -1: open */
	int64		band_max_e4;	/* -1: open */
	char		kind;			/* F, P, T */
	int64		fixed_e4;
	int64		rate_e8;
	int64		min_fee_e4;		/* -1: none */
	int64		max_fee_e4;		/* -1: none */
	char		bearer;			/* S, R, P (split) */
	int64		sender_share_e4;
	int64		commission_e8;
	TimestampTz valid_from;
	TimestampTz valid_to;		/* DT_NOEND: open */
	int			ntiers;
	int64		tier_up_to_e4[MAX_TIERS];
	int64		tier_fixed_e4[MAX_TIERS];
	int64		tier_rate_e8[MAX_TIERS];
} FeeSchedule;

/* An owner's limits in one currency and what it has used of them. */
typedef struct OwnerLimit
{
	int64		owner_id;
	char		currency[4];
	int			tier;
	int64		per_transaction_max;
	int64		daily_max;
	int64		monthly_max;
	int64		daily_count_max;
	DateADT		day_start;		/* the UTC day and month the counters are of */
	DateADT		month_start;
	int64		day_amount;
	int64		day_count;
	int64		month_amount;
	bool		dirty;
	ItemPointerData tid;		/* the locked limit_usage row (limits_write) */
} OwnerLimit;

typedef struct RulesState
{
	int			nservices;
	ClientService *services;
	int			nschedules;
	FeeSchedule *schedules;
	int			nlimits;
	OwnerLimit *limits;
	/* the usage the request being posted will add, once it is posted */
	OwnerLimit *pending_limit;
	int64		pending_amount;
	/* fraud scoring's batch state (fraud.c) */
	void	   *fraud;
} RulesState;

/* What a fee comes to for one amount. */
typedef struct FeeQuote
{
	int64		schedule_id;	/* 0: no schedule matched, no fee */
	int64		fee_minor;
	int64		sender_minor;
	int64		receiver_minor;
	int64		commission_minor;
	int64		rate_e8;		/* the rate applied */
	char		bearer;
} FeeQuote;

/* fees.c */
extern int64 pow10_int(int n);
extern int64 mul_div_half_up(int64 value, int64 num, int64 den);
extern int64 e4_to_minor(int64 e4, int exponent);
extern int128 minor_to_e4(int64 minor, int exponent);
extern char *e4_to_cstring(int64 e4);
extern int	get_int64_array(HeapTuple tup, TupleDesc desc, int col, int64 *out);
extern void load_schedules(RulesState *st, int64 generation);
extern FeeSchedule *fee_match(RulesState *st, const char *type, int64 service_id,
							  const char *currency, int64 amount_minor, int exponent);
extern void fee_compute(FeeSchedule *fs, int64 amount_minor, int exponent, bool with_agent,
						FeeQuote *q);

/* services.c */
extern void load_services(RulesState *st, Column *codes);
extern ClientService *find_service(RulesState *st, const char *code);
extern bool check_service(RulesState *st, LedgerRequest *req, const LedgerAccountView *accts,
						  int64 *service_id, LedgerRefusal *r);

/* limits.c */
extern bool limit_applies(const char *fee_type);
extern void load_limits(RulesState *st, Column *owners, Column *currencies, Column *tiers);
extern bool check_limits(RulesState *st, int64 owner_id, const char *currency, int exponent,
						 int64 amount, LedgerRefusal *r);
extern void limits_commit(RulesState *st);
extern void limits_write(RulesState *st);
extern void limits_hold_release(int64 owner_id, const char *currency, int64 amount,
							   TimestampTz placed_at);

#endif							/* RULES_INTERNAL_H */
