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

#include "utils/jsonb.h"

/* events_fraud.c: plug the fraud:risk_alert event into the rules (from _PG_init) */
extern void events_register(void);

/*
 * events_queue.c: one event for several owners (each with its principal),
 * queued for the outbox worker when it serves this database, else written
 * at once. Connected to SPI.
 */
extern bool events_queue_here(void);
extern void events_enqueue(int n, const int64 *owner_ids, const Datum *principal_ids,
						   const bool *principal_nulls, const char *event_type,
						   Jsonb *payload);

extern char *event_notification(int64 event_id, int64 owner_id, const char *event_type,
								Datum principal_id, bool principal_null);

#endif							/* PARTNERS_EVENTS_H */
