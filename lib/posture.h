/* Compliance posture: pass/fail/unknown per NIS2 Art. 21(2) letter and per
 * DORA article, from the stored findings, now or as it was at an earlier
 * time (rebuilt from findings_log, for the digest's "change since last
 * week").
 *
 * The result is JSON (the `plumb posture --output json` contract):
 *   {"at": "...",
 *    "nis2": [{"article": "21.2.h", "title": "...", "controls": 12,
 *              "failing_controls": 3, "pass": 40, "fail": 5, "unknown": 2}],
 *    "dora": [ ...same with "article": "Art 9" ... ],
 *    "totals": {"pass", "fail", "unknown", "controls", "failing_controls"}}
 * Findings under an active exception count as pass (they are accepted);
 * NOT_APPLICABLE findings are not counted. */
#ifndef PLUMB_POSTURE_H
#define PLUMB_POSTURE_H

#include <jansson.h>
#include <stdint.h>

#include "controls.h"
#include "db.h"

/* at_ms 0 = now. */
int posture_compute(struct db *db, const struct catalogue *cat, int64_t at_ms, json_t **ret,
                    struct perr *err);

/* Short titles of NIS2 Art. 21(2) letters and DORA articles ("" when not
 * known). */
const char *posture_nis2_title(const char *ref);
const char *posture_dora_title(const char *ref);

#endif
