/* The NIS2/DORA baseline catalogue: controls as data.
 *
 * Controls live in JSON files (etc/baseline/NN-name.json, installed to
 * $datadir/plumb/baseline/; users add their own directories).  Each file is
 * {"controls": [ {control}, ... ]}; the format and the evaluation language
 * are documented in etc/baseline/README.md.  Loading reads a list of files
 * and directories in order (a directory contributes its *.json files in
 * name order); a control whose id was already loaded replaces the earlier
 * one.  Overrides then disable controls and change parameters, and every
 * predicate is compiled with the final parameter values, so evaluation
 * never re-parses JSON.
 *
 * A loaded catalogue is immutable and may be shared between threads. */
#ifndef PLUMB_CONTROLS_H
#define PLUMB_CONTROLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Files larger than this are refused. */
#define CONTROLS_FILE_MAX (4u * 1024 * 1024)

/* The values equal those of enum severity in config.h (INFO = 0, LOW = 1,
 * ... CRITICAL = 4), so one converts to the other by a cast. */
enum control_severity {
    CONTROL_SEVERITY_LOW = 1,
    CONTROL_SEVERITY_MEDIUM,
    CONTROL_SEVERITY_HIGH,
    CONTROL_SEVERITY_CRITICAL,
};
/* "low", "medium", "high", "critical". */
const char *control_severity_name(enum control_severity s);
int control_severity_from_name(const char *name, enum control_severity *ret);

enum control_scope {
    CONTROL_SCOPE_RESOURCE, /* one finding per resource of control->scope */
    CONTROL_SCOPE_REGION,   /* one finding per (account, region) in scope */
    CONTROL_SCOPE_ACCOUNT,  /* one finding per account */
};

struct pred; /* a compiled predicate, see evaluate.h */

/* One control.  Every string vector is NULL-terminated and never NULL
 * (possibly empty).  Everything is owned by the catalogue. */
struct control {
    char *id;          /* "enc-rds-instance" */
    char *title;       /* one line */
    char *description; /* may be NULL */
    enum control_severity severity;
    char **nis2;     /* NIS2 Art. 21(2) letters: "21.2.h" */
    char **nis2_cir; /* implementing-regulation points from Prowler's map: "9.2.a" */
    char **dora;     /* DORA articles: "Art 9" */
    /* Which mappings are our proposal rather than taken from a published
     * map ("nis2", "dora", "config_rule", "security_hub", "prowler"). */
    char **proposed;
    char **config_rule;  /* AWS Config managed rule names */
    char **security_hub; /* Security Hub control ids ("RDS.3") */
    char **prowler;      /* Prowler check ids */
    char **references;   /* URLs */
    char *remediation;
    enum control_scope scope_kind;
    char *scope; /* the resource type, or "region" / "account" */
    /* Parameter values after overrides: an object, never NULL. */
    json_t *parameters;
    struct pred *evaluation; /* never NULL */
    struct pred *applies_if; /* NULL: always applies */
    struct pred *warn_if;    /* NULL: no warning downgrade */
    char *source;            /* the file the control came from */
    json_t *definition;      /* the control's JSON object as loaded */
    bool enabled;
};

struct catalogue {
    struct control **controls; /* in order of first appearance */
    size_t n;
};

/* What the configuration changes on top of the files.
 *  disable: control ids (NULL-terminated, may be NULL); an unknown id is an
 *           error, so typos do not silently leave a control on.
 *  params:  a JSON object (may be NULL).  A key naming a parameter
 *           ("logs.retention_min_days": 400) sets it in every control that
 *           declares it; a key naming a control id with an object value
 *           ({"log-loggroup-retention": {"logs.retention_min_days": 400}})
 *           sets parameters of that control only and wins over the global
 *           form.  Values must have the type of the declared default. */
struct controls_overrides {
    const char *const *disable;
    const json_t *params;
};

/* Load the catalogue from paths (files or directories, NULL-terminated)
 * and apply ov (may be NULL).  On failure err says which file, control
 * and field is wrong:
 *   "<file>:<line>:<column>: <syntax error>"
 *   "<file>: control '<id>': missing field 'title'"
 *   "<file>: control '<id>': field 'severity': ..."
 *   "<file>: control '<id>': evaluation.all[1]: unknown operator 'equals'"
 *   "params: unknown parameter 'x'"
 * Returns 0, or -EINVAL (bad content), -ENOENT/-EACCES/-EFBIG (files),
 * -ENOMEM. */
int controls_load(char *const *paths, const struct controls_overrides *ov, struct catalogue **ret,
                  struct perr *err);
struct catalogue *controls_free(struct catalogue *cat);

/* The control with this id (enabled or not), or NULL. */
const struct control *controls_find(const struct catalogue *cat, const char *id);
size_t controls_count_enabled(const struct catalogue *cat);

/* Reference syntax checks used by the loader: "21.2.a" .. "21.2.j" and
 * "Art 1" .. "Art 64". */
bool controls_nis2_ref_valid(const char *ref);
bool controls_dora_ref_valid(const char *ref);

/* Human-readable forms for reports: "NIS2 Art. 21(2)(h)", "DORA Art. 9".
 * malloc'd, NULL on OOM. */
char *controls_nis2_label(const char *ref);
char *controls_dora_label(const char *ref);

#endif
