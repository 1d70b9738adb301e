/* Collector "account": the account's alternate contacts
 * (aws_account_alternate_contact), global.
 *
 * Calls per account: GetAlternateContact for SECURITY, BILLING and
 * OPERATIONS (three calls; the API has no list).  ResourceNotFoundException
 * means that contact is not set: no document (the baseline's
 * ir-security-contact then fails); any other failure makes the type
 * UNKNOWN. */
#ifndef PLUMB_COLLECT_ACCOUNT_H
#define PLUMB_COLLECT_ACCOUNT_H

#include "collect.h"

extern const struct collector_def collect_account;

#endif
