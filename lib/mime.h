/* RFC 5322 / MIME messages: a multipart/alternative mail with a text/plain
 * and a text/html part, both UTF-8, as the digest sends it.
 *
 * The output is ready for SMTP: CRLF line endings, 7-bit clean, header
 * lines folded at 76 columns (the RFC 2047 limit for lines with
 * encoded-words) where they have spaces (never above 998),
 * body lines at most 76 columns.  Non-ASCII header text (Subject, display
 * names, the List-Id description) is written as RFC 2047 encoded-words.
 *
 * Header injection: addresses, the List-Id and the Message-ID domain are
 * validated and a line break or other control character in them is an
 * error (they come from configuration).  The Subject is free text built
 * from resource names and tags, so control characters in it (CR, LF, TAB,
 * DEL, C1 controls, U+2028/U+2029) are replaced by spaces instead; in the
 * body they are only content, encoded like everything else.  Nothing a
 * caller passes can start a new header line.
 *
 * Stateless and thread-safe; reads the random generator for the boundary
 * and the Message-ID. */
#ifndef PLUMB_MIME_H
#define PLUMB_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Transfer encoding of a body part.  AUTO picks quoted-printable for
 * mostly-ASCII text and base64 otherwise. */
enum mime_encoding {
    MIME_ENC_AUTO = 0,
    MIME_ENC_QP,
    MIME_ENC_BASE64,
};

/* The default and largest accepted message size (after encoding). */
#define MIME_DEFAULT_MAX (16u * 1024 * 1024)

/* Longest address accepted (RFC 5321 path limit less the brackets). */
#define MIME_ADDR_MAX 254

/* What to build.  All strings are UTF-8 and borrowed for the call. */
struct mime_message {
    /* "plumb <plumb@example.org>", "\"Ops, EU\" <ops@example.org>" or
     * a bare "ops@example.org" (see mime_parse_address()).  Required. */
    const char *from;
    /* NULL-terminated list, at least one. */
    const char *const *to;
    const char *reply_to; /* optional */
    const char *subject;  /* required, may be "" */
    /* Optional List-Id (RFC 2919): an identifier such as
     * "digest.plumb.example.org" (dot-atom with at least one dot) and an
     * optional description. */
    const char *list_id;
    const char *list_name;
    /* Both parts are required; line breaks (LF, CRLF or a lone CR) become
     * CRLF, which is how a decoder gives them back. */
    const char *text;
    const char *html;
    enum mime_encoding text_encoding;
    enum mime_encoding html_encoding;
    /* The Date header: the instant and the sender's UTC offset in seconds
     * east (tz_to_local()'s utc_offset; seconds beyond whole minutes are
     * dropped). */
    int64_t date_ms;
    int32_t utc_offset;
    /* Right-hand side of the Message-ID; NULL means the From domain. */
    const char *message_id_domain;
    /* Refuse to produce more than this many bytes; 0 means
     * MIME_DEFAULT_MAX. */
    size_t max_size;
};

/* Build the message.  On success *ret is the malloc'd message (also NUL
 * terminated), *ret_len its length without the NUL and, if ret_message_id
 * is not NULL, *ret_message_id a malloc'd copy of the Message-ID header
 * value ("<...@domain>").  On failure nothing is returned and err says
 * which field is wrong: -EINVAL for a missing or invalid field (an address
 * with a line break, text that is not UTF-8...), -E2BIG when the message
 * would exceed max_size, -ENOMEM, or the error of the random generator. */
int mime_build(const struct mime_message *m, char **ret, size_t *ret_len, char **ret_message_id,
               struct perr *err);

/* Split "Display Name <local@domain>", "\"Quoted, Name\" <local@domain>"
 * or a bare "local@domain" into the display name (NULL when there is
 * none; quotes and backslash escapes removed) and the address.  The
 * address must be ASCII: a dot-atom local part of at most 64 bytes and a
 * domain of letters, digits and hyphens in dot-separated labels, at most
 * MIME_ADDR_MAX bytes in all.  Line
 * breaks and control characters are rejected anywhere.  what names the
 * field in error messages ("To address").  ret_name may be NULL. */
int mime_parse_address(const char *in, const char *what, char **ret_name, char **ret_addr,
                       struct perr *err);

#endif
