/* Start-up reconciliation of the Maildir with the receipts: what has no receipt was never
 * acknowledged (a kill -9 between the file and its receipt line) and is moved aside. */
#ifndef RT_RECOVER_H
#define RT_RECOVER_H

#include <stddef.h>

#define RECOVER_DIR "unacked" /* beside new/: Maildir readers never look there */

struct recover_counts {
	long from_new; /* in new/ without a whole receipts line naming it */
	long from_tmp; /* in tmp/: never renamed, so never acknowledged */
};

/* Moves those files into maildir/unacked/ under their own names. Runs before the store opens
 * the receipts (a torn last line names nothing). -1 with err when a folder or the receipts
 * cannot be read; the counts say what was moved until then. */
int recover_unacked(const char *maildir, const char *receipts, struct recover_counts *out,
                    char *err, size_t errlen);

#endif
