/*-------------------------------------------------------------------------
 *
 * test_custset_parked.c
 *	  test_custset.c with the core built to park every integer add that
 *	  goes to the hash table (CUSTSET_PARK_MIN_TABLE_BYTES = 0, see the
 *	  Makefile), which otherwise only sets with tables past 1 MB do.
 *
 * IDENTIFICATION
 *	  test/unit/test_custset_parked.c
 *
 *-------------------------------------------------------------------------
 */
#include "test_custset.c"
