/*-------------------------------------------------------------------------
 *
 * owners.h
 *	  What the layers above read of an owner (core/owners.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OWNERS_H
#define OWNERS_H

extern bool owner_kind_is(int64 owner_id, const char *kind);

#endif							/* OWNERS_H */
