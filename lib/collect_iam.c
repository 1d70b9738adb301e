#include "collect_iam.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "awsmodel.h"
#include "collectmap.h"
#include "crypto.h"
#include "util.h"

#define T_USER     "aws_iam_user"
#define T_KEY      "aws_iam_access_key"
#define T_ROLE     "aws_iam_role"
#define T_POLICY   "aws_iam_policy"
#define T_PASSWORD "aws_iam_account_password_policy"
#define T_MFA      "aws_iam_virtual_mfa_device"
#define T_SUMMARY  "plumb_iam_account_summary"
#define T_REPORT   "plumb_iam_credential_report"

#define PASSWORD_POLICY_ID "iam-account-password-policy"
/* Polls of a credential report still being generated, once all else is
 * read. */
#define REPORT_POLLS 3
/* A report has one line of about 300 bytes per user (IAM allows 5000). */
#define REPORT_MAX_ROWS   100000
#define DEFAULT_IN_FLIGHT 4

struct iam;
typedef void (*iam_done_fn)(struct iam *s, int result, const json_t *output,
                            const struct aws_error *err, void *ud);
typedef int (*iam_page_fn)(struct iam *s, const json_t *output, void *ud);

/* One call, issued now or queued behind others. */
struct iam_call {
    struct iam *s;
    const char *op;
    json_t *params;
    bool all_pages;
    iam_page_fn page;
    iam_done_fn done;
    void *ud;
    bool queued;
};

/* How a listing went. */
struct listing {
    bool done;
    int result;
    enum collect_status status;
    char *detail;
};

struct iam {
    struct collect_run *run;
    /* Calls in flight, plus holds while issuing. */
    unsigned pending;
    unsigned in_flight; /* queued calls in flight */
    struct iam_call **queue;
    size_t q_head, q_len, q_cap;

    json_t *gaad_users, *gaad_roles, *gaad_policies; /* arrays */
    json_t *users, *roles;                           /* ListUsers, ListRoles */
    struct listing gaad, list_users, list_roles;
    bool users_built, roles_built;

    bool report_waiting;
    int report_polls;
};

static void maybe_finish(struct iam *s);
static void pump(struct iam *s);

/* ---- calls ---- */

static int call_page(const struct aws_page *page, void *ud)
{
    struct iam_call *c = ud;
    return c->page ? c->page(c->s, page->output, c->ud) : 0;
}

static void call_done(struct collect_run *run, int result, const json_t *output,
                      const struct aws_error *err, void *ud)
{
    struct iam_call *c = ud;
    struct iam *s = c->s;
    c->done(s, result, output, err, c->ud);
    if (c->queued)
        s->in_flight--;
    json_decref(c->params);
    free(c);
    pump(s);
    s->pending--;
    maybe_finish(s);
}

/* Start a call; if it cannot start, its done runs now with the error. */
static void start(struct iam_call *c)
{
    struct iam *s = c->s;
    int r;
    s->pending++;
    if (c->queued)
        s->in_flight++;
    r = collect_call(s->run, NULL, c->op, c->params, c->all_pages, c->page ? call_page : NULL,
                     call_done, c);
    if (r < 0) {
        /* Hold the count so that the failure cannot finish the part under
         * the caller. */
        s->pending++;
        call_done(s->run, r, NULL, NULL, c);
        s->pending--;
    }
}

static struct iam_call *new_call(struct iam *s, const char *op, json_t *params, bool all_pages,
                                 iam_page_fn page, iam_done_fn done, void *ud)
{
    struct iam_call *c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(params);
        return NULL;
    }
    c->s = s;
    c->op = op;
    c->params = params;
    c->all_pages = all_pages;
    c->page = page;
    c->done = done;
    c->ud = ud;
    return c;
}

/* Issue now (the few account-wide calls).  params is taken; a NULL params
 * means it could not be built (out of memory). */
static void issue(struct iam *s, const char *op, json_t *params, bool all_pages, iam_page_fn page,
                  iam_done_fn done, void *ud)
{
    struct iam_call *c = params ? new_call(s, op, params, all_pages, page, done, ud) : NULL;
    if (!c) {
        done(s, -ENOMEM, NULL, NULL, ud);
        return;
    }
    start(c);
}

/* Queue a per-item call: at most max_in_flight of them run at once. */
static void enqueue(struct iam *s, const char *op, json_t *params, bool all_pages, iam_page_fn page,
                    iam_done_fn done, void *ud)
{
    struct iam_call *c = params ? new_call(s, op, params, all_pages, page, done, ud) : NULL;
    if (c && s->q_head + s->q_len == s->q_cap) {
        if (s->q_head > 0) {
            memmove(s->queue, s->queue + s->q_head, s->q_len * sizeof(*s->queue));
            s->q_head = 0;
        } else {
            size_t cap = s->q_cap ? s->q_cap * 2 : 64;
            struct iam_call **nq = realloc(s->queue, cap * sizeof(*nq));
            if (!nq) {
                json_decref(c->params);
                free(c);
                c = NULL;
            } else {
                s->queue = nq;
                s->q_cap = cap;
            }
        }
    }
    if (!c) {
        done(s, -ENOMEM, NULL, NULL, ud);
        return;
    }
    c->queued = true;
    s->queue[s->q_head + s->q_len++] = c;
    pump(s);
}

static void pump(struct iam *s)
{
    unsigned max = collect_options(s->run)->max_in_flight;
    if (!max)
        max = DEFAULT_IN_FLIGHT;
    while (s->q_len > 0 && s->in_flight < max) {
        struct iam_call *c = s->queue[s->q_head++];
        s->q_len--;
        start(c);
    }
}

/* ---- helpers ---- */

static void listing_set(struct iam *s, struct listing *l, int result, const struct aws_error *err)
{
    l->done = true;
    l->result = result;
    if (result < 0) {
        l->status = result == -ECANCELED ? COLLECT_ERROR : collect_status_of(err);
        l->detail = collect_error_detail(result, err);
    }
}

static void scope_failed(struct iam *s, const char *type, int result, const struct aws_error *err)
{
    char *detail = collect_error_detail(result, err);
    collect_scope_status(s->run, type,
                         result == -ECANCELED || !err ? COLLECT_ERROR : collect_status_of(err),
                         detail ? detail : "out of memory");
    free(detail);
}

static void mark(struct iam *s, struct resource *r, const char *const *attrs,
                 enum collect_status st, const char *detail)
{
    for (size_t i = 0; attrs[i]; i++)
        if (resource_mark_unknown(r, attrs[i], st, detail) < 0)
            collect_scope_status(s->run, r->type, COLLECT_ERROR, "out of memory");
}

static void mark_failed(struct iam *s, struct resource *r, const char *const *attrs, int result,
                        const struct aws_error *err)
{
    char *detail = collect_error_detail(result, err);
    mark(s, r, attrs, result == -ECANCELED || !err ? COLLECT_ERROR : collect_status_of(err),
         detail ? detail : "out of memory");
    free(detail);
}

static int append_items(json_t *into, const json_t *output, const char *member)
{
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(output, member), i, v)
        if (json_array_append(into, v) < 0)
            return -ENOMEM;
    return 0;
}

static const json_t *find_named(const json_t *list, const char *member, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (str_eq(json_string_value(json_object_get(v, member)), name))
            return v;
    return NULL;
}

static struct resource *new_resource(struct iam *s, const char *type, const char *id,
                                     const char *arn)
{
    struct resource *r = NULL;
    if (collect_new_resource(s->run, type, NULL, id, &r) < 0)
        return NULL;
    if (arn && str_replace(&r->arn, arn) < 0)
        return resource_free(r);
    return r;
}

static int add(struct iam *s, struct resource *r)
{
    if (!r || collect_add(s->run, r) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    return 0;
}

static int set_tags(struct resource *r, const json_t *tags)
{
    json_t *t = collectmap_tags(tags);
    if (!t)
        return -ENOMEM;
    json_decref(r->tags);
    r->tags = t;
    return 0;
}

/* ---- users and their access keys ---- */

static const struct collectmap_field user_common[] = {
    { "name", "UserName" },    { "arn", "Arn" }, { "path", "Path" },
    { "unique_id", "UserId" }, { NULL },
};
static const struct collectmap_field user_listed[] = {
    { "password_last_used", "PasswordLastUsed" },
    { NULL },
};
static const struct collectmap_field user_detailed[] = {
    { "permissions_boundary", "PermissionsBoundary.PermissionsBoundaryArn" },
    { NULL },
};
static const char *const user_listed_attrs[] = { "password_last_used", NULL };
static const char *const user_detailed_attrs[] = { "permissions_boundary", "tags", NULL };

static const struct collectmap_field key_fields[] = {
    { "user", "UserName" },
    { "status", "Status" },
    { "create_date", "CreateDate" },
    { NULL },
};
static const char *const key_used_attrs[] = { "last_used_date", "last_used_region",
                                              "last_used_service", NULL };

/* GetAccessKeyLastUsed says "N/A" for a key never used. */
static json_t *not_na(const json_t *v)
{
    if (!v || str_eq(json_string_value(v), "N/A"))
        return json_null();
    return json_deep_copy(v);
}

static void key_used_done(struct iam *s, int result, const json_t *output,
                          const struct aws_error *err, void *ud)
{
    struct resource *r = ud;
    const json_t *used = json_object_get(output, "AccessKeyLastUsed");
    if (result < 0) {
        mark_failed(s, r, key_used_attrs, result, err);
        return;
    }
    if (collectmap_set(r->attrs, "last_used_date", not_na(json_object_get(used, "LastUsedDate"))) <
            0 ||
        collectmap_set(r->attrs, "last_used_region", not_na(json_object_get(used, "Region"))) < 0 ||
        collectmap_set(r->attrs, "last_used_service",
                       not_na(json_object_get(used, "ServiceName"))) < 0)
        mark(s, r, key_used_attrs, COLLECT_ERROR, "out of memory");
}

static int keys_page(struct iam *s, const json_t *output, void *ud)
{
    size_t i;
    json_t *k;
    json_array_foreach (json_object_get(output, "AccessKeyMetadata"), i, k) {
        const char *id = collectmap_string(k, "AccessKeyId");
        struct resource *r;
        if (!id)
            continue;
        r = new_resource(s, T_KEY, id, NULL);
        if (!r || collectmap_apply(r->attrs, k, key_fields) < 0 || add(s, r) < 0)
            return -ENOMEM;
        enqueue(s, "GetAccessKeyLastUsed", json_pack("{s:s}", "AccessKeyId", id), false, NULL,
                key_used_done, r);
    }
    return 0;
}

static void keys_done(struct iam *s, int result, const json_t *output, const struct aws_error *err,
                      void *ud)
{
    /* A user deleted since it was listed has no keys left. */
    if (result < 0 && !(err && str_eq(err->code, "NoSuchEntity")))
        scope_failed(s, T_KEY, result, err);
}

static int build_user(struct iam *s, const json_t *listed, const json_t *detailed)
{
    const json_t *any = listed ? listed : detailed;
    const char *name = collectmap_string(any, "UserName");
    struct resource *r;
    if (!name)
        return 0;
    r = new_resource(s, T_USER, name, collectmap_string(any, "Arn"));
    if (!r || collectmap_apply(r->attrs, any, user_common) < 0)
        goto oom;
    if (listed) {
        if (collectmap_apply(r->attrs, listed, user_listed) < 0)
            goto oom;
    } else {
        mark(s, r, user_listed_attrs,
             s->list_users.result < 0 ? s->list_users.status : COLLECT_ERROR,
             s->list_users.result < 0 ? s->list_users.detail : "not in ListUsers");
    }
    if (detailed) {
        if (collectmap_apply(r->attrs, detailed, user_detailed) < 0 ||
            set_tags(r, json_object_get(detailed, "Tags")) < 0)
            goto oom;
    } else {
        mark(s, r, user_detailed_attrs, s->gaad.result < 0 ? s->gaad.status : COLLECT_ERROR,
             s->gaad.result < 0 ? s->gaad.detail : "not in GetAccountAuthorizationDetails");
    }
    if (add(s, r) < 0)
        return -ENOMEM;
    enqueue(s, "ListAccessKeys", json_pack("{s:s, s:i}", "UserName", name, "MaxItems", 1000), true,
            keys_page, keys_done, NULL);
    return 0;
oom:
    resource_free(r);
    return -ENOMEM;
}

static void build_users(struct iam *s)
{
    size_t i;
    json_t *u;
    int r = 0;
    if (s->users_built || !s->gaad.done || !s->list_users.done)
        return;
    s->users_built = true;
    if (s->list_users.result < 0 && s->gaad.result < 0) {
        /* Neither listing: users and their keys are unknown. */
        collect_scope_status(s->run, T_USER, s->list_users.status, s->list_users.detail);
        collect_scope_status(s->run, T_KEY, s->list_users.status, s->list_users.detail);
        return;
    }
    json_array_foreach (s->users, i, u)
        if (r == 0)
            r = build_user(s, u,
                           find_named(s->gaad_users, "UserName", collectmap_string(u, "UserName")));
    json_array_foreach (s->gaad_users, i, u)
        if (r == 0 && !find_named(s->users, "UserName", collectmap_string(u, "UserName")))
            r = build_user(s, NULL, u);
    if (r < 0) {
        collect_scope_status(s->run, T_USER, COLLECT_ERROR, "out of memory");
        collect_scope_status(s->run, T_KEY, COLLECT_ERROR, "out of memory");
    }
}

/* ---- roles ---- */

static const struct collectmap_field role_common[] = {
    { "name", "RoleName" },
    { "arn", "Arn" },
    { "path", "Path" },
    { "unique_id", "RoleId" },
    { "create_date", "CreateDate" },
    { "assume_role_policy", "AssumeRolePolicyDocument", CM_JSON_TEXT },
    { NULL },
};
static const struct collectmap_field role_listed[] = {
    { "description", "Description" },
    { "max_session_duration", "MaxSessionDuration" },
    { NULL },
};
static const struct collectmap_field last_used_fields[] = {
    { "last_used_date", "LastUsedDate" },
    { "region", "Region" },
    { NULL },
};
static const struct collectmap_field inline_policy_fields[] = {
    { "name", "PolicyName" },
    { "policy", "PolicyDocument", CM_JSON_TEXT },
    { NULL },
};
static const struct collectmap_field role_detailed[] = {
    { "permissions_boundary", "PermissionsBoundary.PermissionsBoundaryArn" },
    { "role_last_used", "RoleLastUsed", CM_BLOCK, .nested = last_used_fields },
    { "inline_policy", "RolePolicyList", CM_LIST, .nested = inline_policy_fields },
    { NULL },
};
static const char *const role_listed_attrs[] = { "description", "max_session_duration", NULL };
static const char *const role_detailed_attrs[] = {
    "permissions_boundary", "role_last_used", "inline_policy", "managed_policy_arns", "tags", NULL,
};

static json_t *policy_arns(const json_t *attached)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    if (!out)
        return NULL;
    json_array_foreach (attached, i, p) {
        const json_t *arn = json_object_get(p, "PolicyArn");
        if (json_is_string(arn) && json_array_append(out, (json_t *)arn) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static int build_role(struct iam *s, const json_t *listed, const json_t *detailed)
{
    const json_t *any = detailed ? detailed : listed;
    const char *name = collectmap_string(any, "RoleName");
    struct resource *r;
    if (!name)
        return 0;
    r = new_resource(s, T_ROLE, name, collectmap_string(any, "Arn"));
    if (!r || collectmap_apply(r->attrs, any, role_common) < 0)
        goto oom;
    if (listed) {
        if (collectmap_apply(r->attrs, listed, role_listed) < 0)
            goto oom;
    } else {
        mark(s, r, role_listed_attrs,
             s->list_roles.result < 0 ? s->list_roles.status : COLLECT_ERROR,
             s->list_roles.result < 0 ? s->list_roles.detail : "not in ListRoles");
    }
    if (detailed) {
        if (collectmap_apply(r->attrs, detailed, role_detailed) < 0 ||
            collectmap_set(r->attrs, "managed_policy_arns",
                           policy_arns(json_object_get(detailed, "AttachedManagedPolicies"))) < 0 ||
            set_tags(r, json_object_get(detailed, "Tags")) < 0)
            goto oom;
    } else {
        mark(s, r, role_detailed_attrs, s->gaad.result < 0 ? s->gaad.status : COLLECT_ERROR,
             s->gaad.result < 0 ? s->gaad.detail : "not in GetAccountAuthorizationDetails");
    }
    return add(s, r);
oom:
    resource_free(r);
    return -ENOMEM;
}

static void build_roles(struct iam *s)
{
    size_t i;
    json_t *v;
    int r = 0;
    if (s->roles_built || !s->gaad.done || !s->list_roles.done)
        return;
    s->roles_built = true;
    if (s->list_roles.result < 0 && s->gaad.result < 0) {
        collect_scope_status(s->run, T_ROLE, s->gaad.status, s->gaad.detail);
        return;
    }
    json_array_foreach (s->gaad_roles, i, v)
        if (r == 0)
            r = build_role(s, find_named(s->roles, "RoleName", collectmap_string(v, "RoleName")),
                           v);
    json_array_foreach (s->roles, i, v)
        if (r == 0 && !find_named(s->gaad_roles, "RoleName", collectmap_string(v, "RoleName")))
            r = build_role(s, v, NULL);
    if (r < 0)
        collect_scope_status(s->run, T_ROLE, COLLECT_ERROR, "out of memory");
}

/* ---- customer-managed policies ---- */

static const struct collectmap_field policy_fields[] = {
    { "arn", "Arn" },
    { "attachment_count", "AttachmentCount" },
    { "description", "Description" },
    { "path", "Path" },
    { "policy_id", "PolicyId" },
    { NULL },
};
static const char *const policy_tags_attrs[] = { "tags", NULL };

static int policy_tags_page(struct iam *s, const json_t *output, void *ud)
{
    struct resource *r = ud;
    json_t *tags = collectmap_tags(json_object_get(output, "Tags"));
    int e;
    if (!tags)
        return -ENOMEM;
    e = json_object_update(r->tags, tags) == 0 ? 0 : -ENOMEM;
    json_decref(tags);
    return e;
}

static void policy_tags_done(struct iam *s, int result, const json_t *output,
                             const struct aws_error *err, void *ud)
{
    if (result < 0)
        mark_failed(s, ud, policy_tags_attrs, result, err);
}

/* The document of the default version (GetAccountAuthorizationDetails
 * lists every version). */
static const json_t *default_document(const json_t *p)
{
    const char *def = collectmap_string(p, "DefaultVersionId");
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(p, "PolicyVersionList"), i, v)
        if (json_is_true(json_object_get(v, "IsDefaultVersion")) ||
            (def && str_eq(collectmap_string(v, "VersionId"), def)))
            return json_object_get(v, "Document");
    return NULL;
}

static int build_policy(struct iam *s, const json_t *p)
{
    const char *arn = collectmap_string(p, "Arn");
    const char *name = collectmap_string(p, "PolicyName");
    struct resource *r;
    if (!arn)
        return 0;
    /* The name is the ARN's last segment (the path comes before it). */
    if (!name)
        name = strrchr(arn, '/') ? strrchr(arn, '/') + 1 : arn;
    r = new_resource(s, T_POLICY, arn, arn);
    if (!r || collectmap_apply(r->attrs, p, policy_fields) < 0 ||
        collectmap_set(r->attrs, "name", json_string(name)) < 0 ||
        collectmap_set(r->attrs, "policy", collectmap_json_text(default_document(p))) < 0 ||
        add(s, r) < 0) {
        resource_free(r);
        return -ENOMEM;
    }
    enqueue(s, "ListPolicyTags", json_pack("{s:s, s:i}", "PolicyArn", arn, "MaxItems", 1000), true,
            policy_tags_page, policy_tags_done, r);
    return 0;
}

/* ---- the listings ---- */

static int gaad_page(struct iam *s, const json_t *output, void *ud)
{
    if (append_items(s->gaad_users, output, "UserDetailList") < 0 ||
        append_items(s->gaad_roles, output, "RoleDetailList") < 0 ||
        append_items(s->gaad_policies, output, "Policies") < 0)
        return -ENOMEM;
    return 0;
}

static void gaad_done(struct iam *s, int result, const json_t *output, const struct aws_error *err,
                      void *ud)
{
    size_t i;
    json_t *p;
    listing_set(s, &s->gaad, result, err);
    if (result < 0) {
        collect_scope_status(s->run, T_POLICY, s->gaad.status, s->gaad.detail);
    } else {
        json_array_foreach (s->gaad_policies, i, p)
            if (build_policy(s, p) < 0) {
                collect_scope_status(s->run, T_POLICY, COLLECT_ERROR, "out of memory");
                break;
            }
    }
    build_users(s);
    build_roles(s);
}

static int users_page(struct iam *s, const json_t *output, void *ud)
{
    return append_items(s->users, output, "Users");
}

static void users_done(struct iam *s, int result, const json_t *output, const struct aws_error *err,
                       void *ud)
{
    listing_set(s, &s->list_users, result, err);
    build_users(s);
}

static int roles_page(struct iam *s, const json_t *output, void *ud)
{
    return append_items(s->roles, output, "Roles");
}

static void roles_done(struct iam *s, int result, const json_t *output, const struct aws_error *err,
                       void *ud)
{
    listing_set(s, &s->list_roles, result, err);
    build_roles(s);
}

/* ---- virtual MFA devices ---- */

static const struct collectmap_field mfa_fields[] = {
    { "arn", "SerialNumber" },
    { "enable_date", "EnableDate" },
    { "user_name", "User.UserName" },
    { NULL },
};
static const char *const mfa_tags_attrs[] = { "tags", NULL };

/* arn:aws:iam::123456789012:mfa/path/name: path "/path/", name "name". */
static int mfa_names(struct resource *r, const char *serial)
{
    const char *res = strstr(serial, ":mfa/");
    const char *last = strrchr(serial, '/');
    char *path;
    int e;
    if (!res || !last)
        return collectmap_set(r->attrs, "path", json_null()) < 0 ||
                       collectmap_set(r->attrs, "virtual_mfa_device_name", json_null()) < 0
                   ? -ENOMEM
                   : 0;
    res += strlen(":mfa");
    path = str_ndup(res, (size_t)(last - res) + 1);
    e = path && collectmap_set(r->attrs, "path", json_string(path)) == 0 &&
                collectmap_set(r->attrs, "virtual_mfa_device_name", json_string(last + 1)) == 0
            ? 0
            : -ENOMEM;
    free(path);
    return e;
}

static int mfa_page(struct iam *s, const json_t *output, void *ud)
{
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(output, "VirtualMFADevices"), i, d) {
        const char *serial = collectmap_string(d, "SerialNumber");
        const json_t *tags = json_object_get(d, "Tags");
        struct resource *r;
        if (!serial)
            continue;
        /* Only what the table names: the seed and QR code are secrets. */
        r = new_resource(s, T_MFA, serial, serial);
        if (!r || collectmap_apply(r->attrs, d, mfa_fields) < 0 || mfa_names(r, serial) < 0 ||
            (tags && set_tags(r, tags) < 0)) {
            resource_free(r);
            return -ENOMEM;
        }
        if (!tags)
            mark(s, r, mfa_tags_attrs, COLLECT_NOT_COLLECTED,
                 "ListVirtualMFADevices does not return tags");
        if (add(s, r) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void mfa_done(struct iam *s, int result, const json_t *output, const struct aws_error *err,
                     void *ud)
{
    if (result < 0)
        scope_failed(s, T_MFA, result, err);
}

/* ---- password policy and account summary ---- */

static const struct collectmap_field password_fields[] = {
    { "allow_users_to_change_password", "AllowUsersToChangePassword" },
    { "expire_passwords", "ExpirePasswords" },
    { "hard_expiry", "HardExpiry" },
    { "max_password_age", "MaxPasswordAge" },
    { "minimum_password_length", "MinimumPasswordLength" },
    { "password_reuse_prevention", "PasswordReusePrevention" },
    { "require_lowercase_characters", "RequireLowercaseCharacters" },
    { "require_numbers", "RequireNumbers" },
    { "require_symbols", "RequireSymbols" },
    { "require_uppercase_characters", "RequireUppercaseCharacters" },
    { NULL },
};

static void password_done(struct iam *s, int result, const json_t *output,
                          const struct aws_error *err, void *ud)
{
    struct resource *r;
    if (result < 0) {
        /* No policy set: no document (acc-password-policy then FAILs). */
        if (!(err && str_eq(err->code, "NoSuchEntity")))
            scope_failed(s, T_PASSWORD, result, err);
        return;
    }
    r = new_resource(s, T_PASSWORD, PASSWORD_POLICY_ID, NULL);
    if (!r ||
        collectmap_apply(r->attrs, json_object_get(output, "PasswordPolicy"), password_fields) <
            0 ||
        add(s, r) < 0) {
        if (r)
            resource_free(r);
        collect_scope_status(s->run, T_PASSWORD, COLLECT_ERROR, "out of memory");
    }
}

static const struct collectmap_field summary_fields[] = {
    { "account_access_keys_present", "AccountAccessKeysPresent" },
    { "account_mfa_enabled", "AccountMFAEnabled" },
    { "account_signing_certificates_present", "AccountSigningCertificatesPresent" },
    { "groups", "Groups" },
    { "mfa_devices", "MFADevices" },
    { "mfa_devices_in_use", "MFADevicesInUse" },
    { "policies", "Policies" },
    { "roles", "Roles" },
    { "users", "Users" },
    { NULL },
};

static void summary_done(struct iam *s, int result, const json_t *output,
                         const struct aws_error *err, void *ud)
{
    struct resource *r;
    if (result < 0) {
        scope_failed(s, T_SUMMARY, result, err);
        return;
    }
    r = new_resource(s, T_SUMMARY, collect_options(s->run)->account, NULL);
    if (!r ||
        collectmap_apply(r->attrs, json_object_get(output, "SummaryMap"), summary_fields) < 0 ||
        add(s, r) < 0) {
        if (r)
            resource_free(r);
        collect_scope_status(s->run, T_SUMMARY, COLLECT_ERROR, "out of memory");
    }
}

/* ---- the credential report ---- */

enum column_kind { COL_TEXT, COL_BOOL, COL_TIME };

static const struct {
    const char *column;
    enum column_kind kind;
} report_columns[] = {
    { "user", COL_TEXT },
    { "arn", COL_TEXT },
    { "user_creation_time", COL_TIME },
    { "password_enabled", COL_BOOL },
    { "password_last_used", COL_TIME },
    { "password_last_changed", COL_TIME },
    { "password_next_rotation", COL_TIME },
    { "mfa_active", COL_BOOL },
    { "access_key_1_active", COL_BOOL },
    { "access_key_1_last_rotated", COL_TIME },
    { "access_key_1_last_used_date", COL_TIME },
    { "access_key_1_last_used_region", COL_TEXT },
    { "access_key_1_last_used_service", COL_TEXT },
    { "access_key_2_active", COL_BOOL },
    { "access_key_2_last_rotated", COL_TIME },
    { "access_key_2_last_used_date", COL_TIME },
    { "access_key_2_last_used_region", COL_TEXT },
    { "access_key_2_last_used_service", COL_TEXT },
    { "cert_1_active", COL_BOOL },
    { "cert_1_last_rotated", COL_TIME },
    { "cert_2_active", COL_BOOL },
    { "cert_2_last_rotated", COL_TIME },
};
#define N_COLUMNS (sizeof(report_columns) / sizeof(report_columns[0]))

/* One CSV field (RFC 4180: quoted fields may hold commas, quotes doubled,
 * and line breaks).  *p advances past the field and its separator; *eol is
 * set when the field ended its line.  NULL on -ENOMEM or a malformed
 * quoted field (*bad set). */
static char *csv_field(const char **p, const char *end, bool *eol, bool *bad)
{
    char *out = malloc((size_t)(end - *p) + 1);
    size_t n = 0;
    const char *q = *p;
    *eol = false;
    if (!out)
        return NULL;
    if (q < end && *q == '"') {
        q++;
        for (;;) {
            if (q >= end)
                goto bad;
            if (*q == '"') {
                if (q + 1 < end && q[1] == '"') {
                    out[n++] = '"';
                    q += 2;
                    continue;
                }
                q++;
                break;
            }
            out[n++] = *q++;
        }
        if (q < end && *q != ',' && *q != '\n' && *q != '\r')
            goto bad;
    } else {
        while (q < end && *q != ',' && *q != '\n' && *q != '\r')
            out[n++] = *q++;
    }
    out[n] = '\0';
    if (q >= end) {
        *eol = true;
    } else if (*q == ',') {
        q++;
    } else {
        *eol = true;
        if (*q == '\r')
            q++;
        if (q < end && *q == '\n')
            q++;
    }
    *p = q;
    return out;
bad:
    *bad = true;
    free(out);
    return NULL;
}

/* The fields of one line (strv), or NULL at the end of the text (*err 0)
 * or on failure (*err < 0). */
static char **csv_line(const char **p, const char *end, int *err)
{
    char **fields = NULL;
    bool eol = false, bad = false;
    *err = 0;
    /* Blank lines (the trailing newline) carry nothing. */
    while (*p < end && (**p == '\n' || **p == '\r'))
        (*p)++;
    if (*p >= end)
        return NULL;
    fields = strv_new();
    if (!fields)
        goto oom;
    while (!eol) {
        char *f = csv_field(p, end, &eol, &bad);
        if (!f) {
            if (bad) {
                strv_free(fields);
                *err = -EBADMSG;
                return NULL;
            }
            goto oom;
        }
        if (strv_consume(&fields, f) < 0)
            goto oom;
    }
    return fields;
oom:
    strv_free(fields);
    *err = -ENOMEM;
    return NULL;
}

static json_t *report_value(const char *text, enum column_kind kind)
{
    if (str_eq(text, "N/A") || str_eq(text, "not_supported") || str_eq(text, "no_information") ||
        !*text)
        return json_null();
    if (kind == COL_BOOL) {
        if (str_eq(text, "true"))
            return json_true();
        if (str_eq(text, "false"))
            return json_false();
    } else if (kind == COL_TIME) {
        int64_t ms;
        char buf[AWS_TS_BUFSZ];
        if (aws_ts_parse(text, &ms) == 0) {
            aws_ts_format(ms, buf);
            return json_string(buf);
        }
    }
    return json_string(text);
}

/* Turn the report (CSV text) into one document per row.  Returns 0,
 * -EBADMSG (not a credential report) or -ENOMEM. */
static int parse_report(struct iam *s, const char *text, size_t len, const json_t *generated)
{
    const char *p = text, *end = text + len;
    int idx[N_COLUMNS];
    int err = 0, rows = 0;
    char **header = csv_line(&p, end, &err);
    char **row;
    if (!header)
        return err < 0 ? err : -EBADMSG;
    for (size_t c = 0; c < N_COLUMNS; c++) {
        idx[c] = -1;
        for (size_t h = 0; header[h]; h++)
            if (str_eq(header[h], report_columns[c].column))
                idx[c] = (int)h;
    }
    strv_free(header);
    if (idx[0] != 0)
        return -EBADMSG; /* the first column is the user */
    while ((row = csv_line(&p, end, &err))) {
        size_t n = strv_length(row);
        struct resource *r;
        if (++rows > REPORT_MAX_ROWS) {
            strv_free(row);
            return -EFBIG;
        }
        r = new_resource(s, T_REPORT, row[0],
                         idx[1] >= 0 && (size_t)idx[1] < n ? row[idx[1]] : NULL);
        if (!r)
            goto oom;
        for (size_t c = 0; c < N_COLUMNS; c++) {
            /* A column the report does not have stays absent. */
            if (idx[c] < 0 || (size_t)idx[c] >= n)
                continue;
            if (collectmap_set(r->attrs, report_columns[c].column,
                               report_value(row[idx[c]], report_columns[c].kind)) < 0) {
                resource_free(r);
                goto oom;
            }
        }
        if (collectmap_set(r->attrs, "generated_time",
                           generated ? json_deep_copy(generated) : json_null()) < 0) {
            resource_free(r);
            goto oom;
        }
        if (add(s, r) < 0)
            goto oom;
        strv_free(row);
    }
    return err;
oom:
    strv_free(row);
    return -ENOMEM;
}

static void generate_report(struct iam *s);

/* Not ready yet: ask again once everything else is read. */
static bool report_not_ready(const struct aws_error *err)
{
    return err && (str_eq(err->code, "ReportInProgress") || str_eq(err->code, "ReportNotPresent") ||
                   str_eq(err->code, "ReportExpired"));
}

static void report_done(struct iam *s, int result, const json_t *output,
                        const struct aws_error *err, void *ud)
{
    unsigned char *csv = NULL;
    const char *content;
    size_t len = 0;
    int r;
    if (result < 0) {
        if (report_not_ready(err)) {
            s->report_waiting = true;
            return;
        }
        scope_failed(s, T_REPORT, result, err);
        return;
    }
    content = json_string_value(json_object_get(output, "Content"));
    r = base64_decode(content ? content : "", &csv, &len);
    if (r == 0)
        r = parse_report(s, (const char *)csv, len, json_object_get(output, "GeneratedTime"));
    free(csv);
    if (r == -ENOMEM)
        collect_scope_status(s->run, T_REPORT, COLLECT_ERROR, "out of memory");
    else if (r == -EFBIG)
        collect_scope_status(s->run, T_REPORT, COLLECT_ERROR, "credential report too large");
    else if (r < 0)
        collect_scope_status(s->run, T_REPORT, COLLECT_ERROR,
                             "GetCredentialReport: not a credential report (CSV)");
}

static void generate_done(struct iam *s, int result, const json_t *output,
                          const struct aws_error *err, void *ud)
{
    if (result < 0) {
        scope_failed(s, T_REPORT, result, err);
        return;
    }
    if (!str_eq(collectmap_string(output, "State"), "COMPLETE")) {
        s->report_waiting = true;
        return;
    }
    s->report_waiting = false;
    issue(s, "GetCredentialReport", json_object(), false, NULL, report_done, NULL);
}

static void generate_report(struct iam *s)
{
    s->report_polls++;
    issue(s, "GenerateCredentialReport", json_object(), false, NULL, generate_done, NULL);
}

/* ---- the custom part ---- */

static const char *const extra_types[] = {
    T_USER, T_KEY, T_ROLE, T_POLICY, T_PASSWORD, T_MFA, T_SUMMARY, T_REPORT, NULL,
};

static void state_free(struct iam *s)
{
    while (s->q_len > 0) {
        struct iam_call *c = s->queue[s->q_head++];
        s->q_len--;
        json_decref(c->params);
        free(c);
    }
    free(s->queue);
    json_decref(s->gaad_users);
    json_decref(s->gaad_roles);
    json_decref(s->gaad_policies);
    json_decref(s->users);
    json_decref(s->roles);
    free(s->gaad.detail);
    free(s->list_users.detail);
    free(s->list_roles.detail);
    free(s);
}

static void maybe_finish(struct iam *s)
{
    struct collect_run *run = s->run;
    if (s->pending > 0 || s->q_len > 0)
        return;
    if (s->report_waiting) {
        if (s->report_polls <= REPORT_POLLS) {
            s->report_waiting = false;
            /* Held, so that a poll failing at once cannot finish the part
             * inside this call; then look again. */
            s->pending++;
            generate_report(s);
            s->pending--;
            maybe_finish(s);
            return;
        }
        collect_scope_status(run, T_REPORT, COLLECT_ERROR,
                             "the credential report is still being generated");
    }
    /* Types whose read failed keep that status (the first one counts). */
    for (size_t i = 0; extra_types[i]; i++)
        collect_scope_status(run, extra_types[i], COLLECT_OK, NULL);
    state_free(s);
    collect_custom_done(run);
}

static int custom(struct collect_run *run)
{
    struct iam *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->run = run;
    s->gaad_users = json_array();
    s->gaad_roles = json_array();
    s->gaad_policies = json_array();
    s->users = json_array();
    s->roles = json_array();
    if (!s->gaad_users || !s->gaad_roles || !s->gaad_policies || !s->users || !s->roles) {
        state_free(s);
        return -ENOMEM;
    }
    s->pending++; /* hold while issuing */
    issue(s, "GetAccountAuthorizationDetails",
          json_pack("{s:[sss], s:i}", "Filter", "User", "Role", "LocalManagedPolicy", "MaxItems",
                    1000),
          true, gaad_page, gaad_done, NULL);
    issue(s, "ListUsers", json_pack("{s:i}", "MaxItems", 1000), true, users_page, users_done, NULL);
    issue(s, "ListRoles", json_pack("{s:i}", "MaxItems", 1000), true, roles_page, roles_done, NULL);
    issue(s, "ListVirtualMFADevices", json_pack("{s:i}", "MaxItems", 1000), true, mfa_page,
          mfa_done, NULL);
    issue(s, "GetAccountPasswordPolicy", json_object(), false, NULL, password_done, NULL);
    issue(s, "GetAccountSummary", json_object(), false, NULL, summary_done, NULL);
    generate_report(s);
    s->pending--;
    maybe_finish(s);
    return 0;
}

static const struct collect_list no_lists[] = { { 0 } };

static const char *const iam_actions[] = {
    "iam:GetAccountAuthorizationDetails",
    "iam:ListUsers",
    "iam:ListRoles",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:ListPolicyTags",
    "iam:ListVirtualMFADevices",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    NULL,
};

const struct collector_def collect_iam_def = {
    .name = "iam",
    .service = "iam",
    .global = true,
    .lists = no_lists,
    .extra_types = extra_types,
    .custom = custom,
    .iam_actions = iam_actions,
};
