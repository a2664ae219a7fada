/*-------------------------------------------------------------------------
 *
 * events.h
 *	  The partners layer's durable events as C code reaches them
 *	  (src/partners/events_fraud.c; the event log itself is SQL:
 *	  sql/partners/events.sql).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTNERS_EVENTS_H
#define PARTNERS_EVENTS_H

/* events_fraud.c: plug the fraud:risk_alert event into the rules (from _PG_init) */
extern void events_register(void);

#endif							/* PARTNERS_EVENTS_H */
