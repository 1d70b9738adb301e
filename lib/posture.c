#include "posture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
    const char *ref;
    const char *title;
} nis2_titles[] = {
    { "21.2.a", "Risk analysis and information system security policies" },
    { "21.2.b", "Incident handling" },
    { "21.2.c", "Business continuity, backup management and disaster recovery" },
    { "21.2.d", "Supply chain security" },
    { "21.2.e", "Security in acquisition, development and maintenance" },
    { "21.2.f", "Assessing the effectiveness of risk-management measures" },
    { "21.2.g", "Cyber hygiene and training" },
    { "21.2.h", "Cryptography and encryption" },
    { "21.2.i", "Human resources security, access control and asset management" },
    { "21.2.j", "Multi-factor authentication and secured communications" },
};

static const struct {
    const char *ref;
    const char *title;
} dora_titles[] = {
    { "Art 5", "Governance and organisation" },
    { "Art 6", "ICT risk management framework" },
    { "Art 7", "ICT systems, protocols and tools" },
    { "Art 8", "Identification" },
    { "Art 9", "Protection and prevention" },
    { "Art 10", "Detection" },
    { "Art 11", "Response and recovery" },
    { "Art 12", "Backup, restoration and recovery" },
    { "Art 13", "Learning and evolving" },
    { "Art 14", "Communication" },
    { "Art 17", "ICT-related incident management" },
    { "Art 18", "Classification of incidents" },
    { "Art 19", "Reporting of major incidents" },
    { "Art 24", "Digital operational resilience testing" },
    { "Art 25", "Testing of ICT tools and systems" },
    { "Art 28", "ICT third-party risk" },
    { "Art 30", "Contractual provisions" },
    { "Art 45", "Information-sharing arrangements" },
};

const char *posture_nis2_title(const char *ref)
{
    for (size_t i = 0; i < ARRAY_SIZE(nis2_titles); i++)
        if (str_eq(nis2_titles[i].ref, ref))
            return nis2_titles[i].title;
    return "";
}

const char *posture_dora_title(const char *ref)
{
    for (size_t i = 0; i < ARRAY_SIZE(dora_titles); i++)
        if (str_eq(dora_titles[i].ref, ref))
            return dora_titles[i].title;
    return "";
}

/* counts[control] = {"pass": n, "fail": n, "unknown": n} */
static int tally(json_t *counts, const char *control, const char *status, bool excepted)
{
    json_t *c = json_object_get(counts, control);
    const char *k = str_eq(status, "PASS")      ? "pass"
                    : str_eq(status, "FAIL")    ? (excepted ? "pass" : "fail")
                    : str_eq(status, "UNKNOWN") ? "unknown"
                                                : NULL;
    if (!k)
        return 0;
    if (!c) {
        c = json_pack("{s:i, s:i, s:i}", "pass", 0, "fail", 0, "unknown", 0);
        if (!c || json_object_set_new(counts, control, c) < 0)
            return -ENOMEM;
    }
    return json_object_set_new(c, k, json_integer(json_integer_value(json_object_get(c, k)) + 1));
}

static int load_counts(struct db *db, int64_t at_ms, json_t *counts, struct perr *err)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;
    const char *sql =
        at_ms ? "SELECT l.control, l.to_status, f.exception FROM findings_log l JOIN (SELECT "
                "finding_key, max(id) AS mid FROM findings_log WHERE at <= ?1 GROUP BY "
                "finding_key) m ON l.id = m.mid LEFT JOIN findings f ON f.key = l.finding_key"
              : "SELECT control, status, exception FROM findings";
    rc = sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "findings");
    if (at_ms)
        sqlite3_bind_int64(st, 1, at_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = tally(counts, (const char *)sqlite3_column_text(st, 0),
                  (const char *)sqlite3_column_text(st, 1),
                  sqlite3_column_type(st, 2) != SQLITE_NULL);
        if (r < 0) {
            perr_set(err, r, "out of memory");
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(db, rc, err, "findings");
    sqlite3_finalize(st);
    return r;
}

static json_t *article(json_t *list, const char *ref, const char *title)
{
    size_t i;
    json_t *a;
    json_array_foreach (list, i, a) {
        if (str_eq(json_string_value(json_object_get(a, "article")), ref))
            return a;
    }
    a = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "article", ref, "title", title, "controls",
                  0, "failing_controls", 0, "pass", 0, "fail", 0, "unknown", 0);
    if (!a || json_array_append_new(list, a) < 0)
        return NULL;
    return a;
}

static int add_int(json_t *o, const char *k, json_int_t v)
{
    return json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + v));
}

static int add_counts(json_t *a, const json_t *c)
{
    json_int_t fail = json_integer_value(json_object_get(c, "fail"));
    if (add_int(a, "controls", 1) < 0 || add_int(a, "failing_controls", fail > 0) < 0 ||
        add_int(a, "pass", json_integer_value(json_object_get(c, "pass"))) < 0 ||
        add_int(a, "fail", fail) < 0 ||
        add_int(a, "unknown", json_integer_value(json_object_get(c, "unknown"))) < 0)
        return -ENOMEM;
    return 0;
}

static int cmp_article(const void *a, const void *b)
{
    const char *ra = json_string_value(json_object_get(*(json_t *const *)a, "article"));
    const char *rb = json_string_value(json_object_get(*(json_t *const *)b, "article"));
    /* "Art 9" before "Art 10": compare the numbers when both have one. */
    if (str_has_prefix(ra, "Art ") && str_has_prefix(rb, "Art ")) {
        long na = strtol(ra + 4, NULL, 10), nb = strtol(rb + 4, NULL, 10);
        if (na != nb)
            return na < nb ? -1 : 1;
    }
    return strcmp(ra, rb);
}

/* Replace *list by a sorted copy. */
static int sort_articles(json_t **list)
{
    size_t n = json_array_size(*list);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    json_t *sorted = json_array();
    if (!v || !sorted) {
        free(v);
        json_decref(sorted);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(*list, i);
    qsort(v, n, sizeof(*v), cmp_article);
    for (size_t i = 0; i < n; i++)
        if (json_array_append(sorted, v[i]) < 0) {
            free(v);
            json_decref(sorted);
            return -ENOMEM;
        }
    free(v);
    json_decref(*list);
    *list = sorted;
    return 0;
}

int posture_compute(struct db *db, const struct catalogue *cat, int64_t at_ms, json_t **ret,
                    struct perr *err)
{
    json_t *counts = json_object(), *nis2 = json_array(), *dora = json_array(), *out = NULL;
    json_t *totals = json_pack("{s:i, s:i, s:i, s:i, s:i}", "controls", 0, "failing_controls", 0,
                               "pass", 0, "fail", 0, "unknown", 0);
    char when[32];
    int r = -ENOMEM;

    if (!counts || !nis2 || !dora || !totals)
        goto out;
    r = load_counts(db, at_ms, counts, err);
    if (r < 0)
        goto out;
    r = -ENOMEM;
    for (size_t i = 0; i < cat->n; i++) {
        const struct control *c = cat->controls[i];
        json_t *cc = json_object_get(counts, c->id), *empty = NULL;
        if (!c->enabled)
            continue;
        if (!cc) {
            empty = json_pack("{s:i, s:i, s:i}", "pass", 0, "fail", 0, "unknown", 0);
            if (!empty)
                goto out;
            cc = empty;
        }
        for (size_t j = 0; c->nis2[j]; j++) {
            json_t *a = article(nis2, c->nis2[j], posture_nis2_title(c->nis2[j]));
            if (!a || add_counts(a, cc) < 0) {
                json_decref(empty);
                goto out;
            }
        }
        for (size_t j = 0; c->dora[j]; j++) {
            json_t *a = article(dora, c->dora[j], posture_dora_title(c->dora[j]));
            if (!a || add_counts(a, cc) < 0) {
                json_decref(empty);
                goto out;
            }
        }
        if (add_counts(totals, cc) < 0) {
            json_decref(empty);
            goto out;
        }
        json_decref(empty);
    }
    /* Stable order: NIS2 letters alphabetically, DORA by article number. */
    if (sort_articles(&nis2) < 0 || sort_articles(&dora) < 0)
        goto out;
    time_format_iso8601(at_ms ? at_ms : time_now_ms(), when, sizeof(when));
    out =
        json_pack("{s:s, s:O, s:O, s:O}", "at", when, "nis2", nis2, "dora", dora, "totals", totals);
    r = out ? 0 : -ENOMEM;
out:
    if (r == -ENOMEM && err && !err->msg[0])
        perr_set(err, r, "out of memory");
    json_decref(counts);
    json_decref(nis2);
    json_decref(dora);
    json_decref(totals);
    if (r == 0)
        *ret = out;
    return r;
}
