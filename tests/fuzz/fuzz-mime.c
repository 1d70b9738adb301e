/* Fuzz target: the MIME builder with hostile header values and bodies.
 *
 * The input is split at NUL bytes into a Subject, a To display name, a
 * List-Id description, the text part and the HTML part.  Whatever they
 * hold, a message that is built must stay well-formed: CRLF line endings
 * only, 7-bit, no line above 998 bytes, and a header section in which every
 * line is a continuation or one of the headers mime_build() writes, each
 * exactly once (so nothing the input holds can add a header). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const headers[] = { "Date:",         "From:",           "To:",
                                       "Subject:",      "Message-ID:",     "List-Id:",
                                       "MIME-Version:", "Auto-Submitted:", "Content-Type:" };

static void check_message(const char *msg, size_t len)
{
    const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
    int seen[sizeof(headers) / sizeof(headers[0])] = { 0 };

    if (!end || strlen(msg) != len)
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c >= 0x80 || (c == '\r' && msg[i + 1] != '\n') ||
            (c == '\n' && (i == 0 || msg[i - 1] != '\r')))
            abort();
    }
    while (*p) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 998)
            abort();
        if (p < end && *p != ' ' && *p != '\t') {
            size_t k;
            for (k = 0; k < sizeof(headers) / sizeof(headers[0]); k++)
                if (strncmp(p, headers[k], strlen(headers[k])) == 0)
                    break;
            if (k == sizeof(headers) / sizeof(headers[0]) || seen[k]++)
                abort();
        }
        if (!e)
            break;
        p = e + 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *to0 = NULL, *out = NULL;
    const char *field[5] = { "", "", "", "", "" };
    const char *to[2] = { NULL, NULL };
    size_t n = 0, len = 0;
    struct mime_message m = { 0 };
    char *name = NULL, *addr = NULL;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* The whole input as an address. */
    if (mime_parse_address(copy, "To address", &name, &addr, NULL) == 0) {
        if (!addr || strpbrk(addr, "\r\n<> ") || (name && strpbrk(name, "\r\n")))
            abort();
    }
    free(name);
    free(addr);

    field[0] = copy;
    for (size_t i = 0; i < size && n < 4; i++) {
        if (copy[i] == '\0')
            field[++n] = copy + i + 1;
    }
    /* Quoted where that can work, so that more inputs get through. */
    to0 = strpbrk(field[1], "\"\\") ? str_printf("%s <ops@example.org>", field[1])
                                    : str_printf("\"%s\" <ops@example.org>", field[1]);
    if (!to0)
        goto out;
    to[0] = to0;
    m.from = "plumb <plumb@example.org>";
    m.to = to;
    m.subject = field[0];
    m.list_id = "digest.plumb.example.org";
    m.list_name = field[2];
    m.text = field[3];
    m.html = field[4];
    m.text_encoding = (enum mime_encoding)(size % 3);
    m.html_encoding = (enum mime_encoding)(size / 3 % 3);
    m.date_ms = 1774857600000LL;
    m.utc_offset = 3600;
    if (mime_build(&m, &out, &len, NULL, NULL) == 0)
        check_message(out, len);
    free(out);
out:
    free(to0);
    free(copy);
    return 0;
}
