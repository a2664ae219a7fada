/*-------------------------------------------------------------------------
 *
 * direct.h
 *	  Rows read, locked, inserted and updated through PostgreSQL's table and
 *	  index access methods, without a SQL statement (core/direct.c). For the
 *	  hottest paths only (issue 20: the posting path's tables and fraud
 *	  scores; issue 13: a payment's row, its queued event, its idempotency
 *	  claim and the look-ups of its parties): every other access is SQL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DIRECT_H
#define DIRECT_H

#include "access/genam.h"
#include "access/skey.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "storage/lockdefs.h"
#include "utils/snapshot.h"

/* Rows per heap multi-insert call (each call also holds this many slots). */
#define DIRECT_CHUNK 1000

/* One table of pg_wallet opened for writing. */
typedef struct DirectTable
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	bool		unknown_checks; /* CHECKs the caller does not enforce: ExecConstraints */
	TupleDesc	slot_desc;		/* the rows' shape, not reference-counted (direct_row) */
	TupleTableSlot *slots[DIRECT_CHUNK];
	int			nslots;
	int			nwritten;
	TupleTableSlot *old;		/* for updates */
	TupleTableSlot *new;
} DirectTable;

/* One table of pg_wallet opened for reading through one of its indexes. */
typedef struct DirectRead
{
	Relation	rel;
	Relation	index;
	Snapshot	snap;
	TupleTableSlot *slot;		/* the row found */
	IndexScanDesc scan;			/* direct_read_next's */
	LOCKMODE	lockmode;		/* the table's: ACCESS SHARE, or ROW SHARE for locks */
} DirectRead;

extern Oid	direct_relid(const char *name);
extern int64 direct_nextval(const char *name);
extern void direct_begin(DirectTable *t, const char *relname, const char *const *known_checks,
						 bool update);
extern void direct_end(DirectTable *t);
extern AttrNumber direct_attnum(Relation rel, const char *column);
extern void direct_attnums(Relation rel, const char *const *columns, int n, AttrNumber *out);

extern TupleTableSlot *direct_row(DirectTable *t);
extern void direct_set(TupleTableSlot *slot, AttrNumber attnum, Datum value, bool isnull);
extern void direct_flush(DirectTable *t);
extern void direct_update(DirectTable *t, ItemPointer tid, int n, const AttrNumber *attnums,
						  const Datum *values);
extern void direct_delete(DirectTable *t, ItemPointer tid);
extern void direct_violated(DirectTable *t, const char *constraint);
extern int	direct_text_chars(Datum d);
extern bool direct_text_is(Datum d, const char *value);

extern void direct_key(ScanKey key, Relation index, int attno, RegProcedure eqproc,
					   Datum value);
extern void direct_key_op(ScanKey key, Relation index, int attno, StrategyNumber strategy,
						  RegProcedure proc, Datum value);
extern bool direct_fetch(Relation rel, Relation index, Snapshot snap, ScanKey keys, int nkeys,
						 TupleTableSlot *slot);
extern void direct_read_begin(DirectRead *r, const char *relname, const char *indexname);
extern void direct_read_for_update(DirectRead *r, const char *relname, const char *indexname);
extern ItemPointerData direct_read_lock(DirectRead *r, ScanKey keys, int nkeys,
										void (*create) (void *arg), void *arg, const char *what);
extern bool direct_read_one(DirectRead *r, ScanKey keys, int nkeys);
extern bool direct_read_by_key(DirectRead *r, const char *relname, const char *indexname,
							   RegProcedure eqproc, Datum value);
extern bool direct_read_next(DirectRead *r, ScanKey keys, int nkeys);
extern Datum direct_read_col(DirectRead *r, TupleTableSlot *slot, const char *column,
							 bool *isnull);
extern void direct_read_stop(DirectRead *r);
extern void direct_read_end(DirectRead *r);
extern bool direct_lock(Relation rel, ItemPointer tid, Snapshot snap, TupleTableSlot *slot,
						const char *what);
extern bool direct_try_lock(Relation rel, ItemPointer tid, Snapshot snap, TupleTableSlot *slot,
							const char *what);

#endif							/* DIRECT_H */
