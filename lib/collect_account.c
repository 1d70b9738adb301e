#include "collect_account.h"

#include <errno.h>

#include "collectq.h"
#include "fieldmap.h"
#include "util.h"

#define T_CONTACT "aws_account_alternate_contact"

static const struct fieldmap contact_fields[] = {
    { "alternate_contact_type", "AlternateContactType" },
    { "email_address", "EmailAddress" },
    { "name", "Name" },
    { "phone_number", "PhoneNumber" },
    { "title", "Title" },
    { NULL },
};

static const char *const contact_types[] = { "SECURITY", "BILLING", "OPERATIONS", NULL };
static const char *const not_set[] = { "ResourceNotFoundException", NULL };

static int contact_page(struct collectq *q, const json_t *output, void *ud)
{
    struct collect_run *run = collectq_run(q);
    const json_t *c = json_object_get(output, "AlternateContact");
    const char *asked = ud;
    struct resource *r = NULL;
    int e;
    if (!json_is_object(c))
        return 0;
    /* The id is the contact type asked for (AWS echoes it). */
    e = collect_new_resource(run, T_CONTACT, NULL, asked, &r);
    if (e == 0)
        e = fieldmap_apply(r->attrs, c, contact_fields);
    if (e == 0 && !fieldmap_string(c, "AlternateContactType") &&
        json_object_set_new(r->attrs, "alternate_contact_type", json_string(asked)) < 0)
        e = -ENOMEM;
    /* Always the calling account: Terraform stores "" then. */
    if (e == 0 && json_object_set_new(r->attrs, "account_id", json_string("")) < 0)
        e = -ENOMEM;
    if (e == 0)
        e = collect_add(run, r);
    if (e < 0)
        resource_free(r);
    return e;
}

static void contact_ok(struct collectq *q, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_CONTACT, COLLECT_OK, NULL);
}

static void contact_fail(struct collectq *q, enum collect_status st, const char *detail, void *ud)
{
    (void)ud;
    collect_scope_status(collectq_run(q), T_CONTACT, st, detail);
}

static int custom(struct collect_run *run)
{
    struct collectq *q = NULL;
    int e = collectq_new(run, &q);
    if (e < 0)
        return e;
    for (size_t i = 0; contact_types[i]; i++) {
        json_t *params = json_pack("{s:s}", "AlternateContactType", contact_types[i]);
        e = params ? collectq_add(q, &(struct collectq_req){ .operation = "GetAlternateContact",
                                                             .params = params,
                                                             .absent_codes = not_set,
                                                             .page = contact_page,
                                                             .ok = contact_ok,
                                                             .fail = contact_fail,
                                                             .ud = (void *)contact_types[i] })
                   : -ENOMEM;
        if (e < 0)
            contact_fail(q, COLLECT_ERROR, "out of memory", NULL);
    }
    collectq_release(q);
    return 0;
}

static const char *const extra_types[] = { T_CONTACT, NULL };

static const char *const iam_actions[] = {
    "account:GetAlternateContact",
    NULL,
};

const struct collector_def collect_account = {
    .name = "account",
    .service = "account",
    .global = true,
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
