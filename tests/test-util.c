#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "testutil.h"
#include "util.h"

START_TEST(durations)
{
    int64_t ms;
    ck_assert_int_eq(parse_duration_ms("90", &ms), 0);
    ck_assert_int_eq(ms, 90000);
    ck_assert_int_eq(parse_duration_ms("1h30m", &ms), 0);
    ck_assert_int_eq(ms, 5400000);
    ck_assert_int_eq(parse_duration_ms("500ms", &ms), 0);
    ck_assert_int_eq(ms, 500);
    ck_assert_int_eq(parse_duration_ms("2w", &ms), 0);
    ck_assert_int_eq(ms, 1209600000);
    ck_assert_int_eq(parse_duration_ms("", &ms), -EINVAL);
    ck_assert_int_eq(parse_duration_ms("5x", &ms), -EINVAL);
    ck_assert_int_eq(parse_duration_ms("1h5", &ms), -EINVAL);
    ck_assert_int_eq(parse_duration_ms("-5m", &ms), -EINVAL);
    ck_assert_int_eq(parse_duration_ms("99999999999999999999d", &ms), -ERANGE);
}
END_TEST

START_TEST(numbers_and_bools)
{
    int64_t v;
    uint64_t u;
    bool b;
    ck_assert_int_eq(parse_int64("-42", &v), 0);
    ck_assert_int_eq(v, -42);
    ck_assert_int_eq(parse_int64("42x", &v), -EINVAL);
    ck_assert_int_eq(parse_int64(" 4", &v), -EINVAL);
    ck_assert_int_eq(parse_uint64("-1", &u), -EINVAL);
    ck_assert_int_eq(parse_size("64k", &u), 0);
    ck_assert_uint_eq(u, 65536);
    ck_assert_int_eq(parse_size("10MiB", &u), 0);
    ck_assert_uint_eq(u, 10485760);
    ck_assert_int_eq(parse_size("10Q", &u), -EINVAL);
    ck_assert_int_eq(parse_bool("Yes", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(parse_bool("off", &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(parse_bool("maybe", &b), -EINVAL);
}
END_TEST

START_TEST(times)
{
    int64_t ms;
    char buf[32];
    ck_assert_int_eq(time_parse_iso8601("2015-08-30T12:36:00Z", &ms), 0);
    ck_assert_int_eq(ms, 1440938160000LL);
    ck_assert_int_eq(time_parse_iso8601("2015-08-30T14:36:00.250+02:00", &ms), 0);
    ck_assert_int_eq(ms, 1440938160250LL);
    ck_assert_int_eq(time_parse_iso8601("2015-08-30", &ms), 0);
    ck_assert_int_eq(ms, 1440892800000LL);
    ck_assert_int_eq(time_parse_iso8601("2015-13-30", &ms), -EINVAL);
    ck_assert_int_eq(time_parse_iso8601("yesterday", &ms), -EINVAL);
    ck_assert_int_eq(time_parse_http("Sun, 30 Aug 2015 12:36:00 GMT", &ms), 0);
    ck_assert_int_eq(ms, 1440938160000LL);
    time_format_iso8601(1440938160000LL, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2015-08-30T12:36:00Z");
    time_format_iso8601_ms(1440938160007LL, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2015-08-30T12:36:00.007Z");
    ck_assert_int_eq(time_parse_since("1h", 10000000, &ms), 0);
    ck_assert_int_eq(ms, 10000000 - 3600000);
}
END_TEST

START_TEST(string_vectors)
{
    char **v = NULL;
    char *j;
    ck_assert_int_eq(strv_split(" a, b,,c ", ",", &v), 0);
    ck_assert_int_eq((int)strv_length(v), 3);
    ck_assert_str_eq(v[1], "b");
    ck_assert(strv_contains(v, "c"));
    j = strv_join(v, "|");
    ck_assert_str_eq(j, "a|b|c");
    free(j);
    strv_free(v);
}
END_TEST

START_TEST(buffer_cap)
{
    struct buf b;
    buf_init(&b, 8);
    ck_assert_int_eq(buf_append_str(&b, "1234"), 0);
    ck_assert_int_eq(buf_appendf(&b, "%d", 5678), 0);
    ck_assert_int_eq(buf_append_char(&b, 'x'), -E2BIG);
    ck_assert_str_eq(buf_str(&b), "12345678");
    buf_free(&b);
}
END_TEST

START_TEST(hashes)
{
    char hex[65];
    unsigned char mac[32];
    char machex[65];
    unsigned char *dec;
    size_t declen;
    char *enc;
    /* FIPS 180-2 example "abc". */
    ck_assert_int_eq(sha256_hex("abc", 3, hex), 0);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test case 2. */
    ck_assert_int_eq(hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac), 0);
    hex_encode(mac, 32, machex);
    ck_assert_str_eq(machex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    enc = base64_encode("hello!?", 7);
    ck_assert_str_eq(enc, "aGVsbG8hPw==");
    ck_assert_int_eq(base64_decode(enc, &dec, &declen), 0);
    ck_assert_uint_eq(declen, 7);
    ck_assert(memcmp(dec, "hello!?", 7) == 0);
    free(dec);
    free(enc);
    ck_assert_int_eq(base64_decode("abc", &dec, &declen), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, durations);
    tcase_add_test(tc, numbers_and_bools);
    tcase_add_test(tc, times);
    tcase_add_test(tc, string_vectors);
    tcase_add_test(tc, buffer_cap);
    tcase_add_test(tc, hashes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
