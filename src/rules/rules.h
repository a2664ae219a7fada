/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  The money rules layer as the rest of the extension sees it: one call
 *	  that plugs the rules into the posting core. Everything else of the
 *	  rules is reached through SQL (calculate_fee, FX functions) or through
 *	  the core's LedgerRules callbacks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RULES_H
#define RULES_H

/* rules.c: register the money rules with the posting core (from _PG_init) */
extern void rules_register(void);

#endif							/* RULES_H */
