/* AppStream is not in moto: the responses are written from the botocore
 * output shapes (tests/data/responses/net-hand-written/SOURCES.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_appstream.h"
#include "collect_kit.h"
#include "netfake.h"

static const char *const appstream_ops[] = { "DescribeFleets", "ListTagsForResource", NULL };

static void run_appstream(struct fake *f, const struct fake_override *overrides, struct fake_run *o)
{
    fake_init(f, overrides);
    fake_load(f, "appstream");
    fake_collect(f, &collect_appstream, o);
}

static void done(struct fake *f, struct fake_run *o)
{
    fake_run_free(o);
    fake_close(f);
}

START_TEST(fleets)
{
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_appstream(&f, NULL, &o);
    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 3);
    ck_assert_int_eq(fake_calls(&f, "DescribeFleets", "{}"), 1);
    ck_assert_int_eq(fake_calls(&f, "ListTagsForResource",
                                "{\"ResourceArn\":\"arn:aws:appstream:eu-central-1:123456789012:"
                                "fleet/plumb-fleet\"}"),
                     1);
    ck_assert_int_eq(fake_scope(o.res, "aws_appstream_fleet")->status, COLLECT_OK);
    ck_assert_int_eq(fake_count(o.res, "aws_appstream_fleet"), 2);

    r = fake_get(o.res, "aws_appstream_fleet", "plumb-fleet");
    ck_assert_str_eq(r->aws_type, "AWS::AppStream::Fleet");
    ck_assert_str_eq(r->arn, "arn:aws:appstream:eu-central-1:123456789012:fleet/plumb-fleet");
    ck_assert_int_eq(fake_int(r, "idle_disconnect_timeout_in_seconds"), 600);
    ck_assert_int_eq(fake_int(r, "disconnect_timeout_in_seconds"), 900);
    ck_assert_int_eq(fake_int(r, "max_user_duration_in_seconds"), 28800);
    fake_attr_eq(r, "compute_capacity",
                 "[{\"available\":1,\"desired_instances\":2,\"desired_sessions\":null,"
                 "\"in_use\":1,\"running\":2}]");
    fake_attr_eq(r, "vpc_config",
                 "[{\"security_group_ids\":[\"sg-0a1b2c3d4e5f60718\"],\"subnet_ids\":"
                 "[\"subnet-0123456789abcdef0\",\"subnet-0fedcba9876543210\"]}]");
    ck_assert_str_eq(fake_str(r, "domain_join_info[0].directory_name"), "corp.example.org");
    ck_assert(!fake_bool(r, "enable_default_internet_access"));
    ck_assert_str_eq(fake_str(r, "stream_view"), "DESKTOP");
    ck_assert_str_eq(fake_str(r, "created_time"), "2024-03-04T09:15:27Z");
    ck_assert_str_eq(fake_tag(r, "team"), "euc");
    ck_assert_str_eq(fake_tag(r, "env"), "prod");

    /* The elastic fleet has no idle timeout: AWS says not set. */
    r = fake_get(o.res, "aws_appstream_fleet", "plumb-elastic");
    ck_assert(fake_null(r, "idle_disconnect_timeout_in_seconds"));
    fake_attr_eq(r, "vpc_config", "[]");
    fake_attr_eq(r, "domain_join_info", "[]");
    ck_assert_int_eq((int)json_object_size(r->tags), 0);

    fake_check_typemap(o.res, "collect_appstream", appstream_ops);
    done(&f, &o);
}
END_TEST

START_TEST(tags_fail_or_gone)
{
    static const struct fake_override ov[] = {
        { .op = "ListTagsForResource",
          .params = "{\"ResourceArn\":\"arn:aws:appstream:eu-central-1:123456789012:fleet/"
                    "plumb-fleet\"}",
          .error_code = "AccessDeniedException",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "appstream:ListTagsForResource" },
        { .op = "ListTagsForResource",
          .error_code = "ResourceNotFoundException",
          .kind = AWS_ERR_NOT_FOUND },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_appstream(&f, ov, &o);
    r = fake_get(o.res, "aws_appstream_fleet", "plumb-fleet");
    ck_assert_str_eq(fake_unknown(r, "tags"), "access_denied:appstream:ListTagsForResource");
    ck_assert_int_eq(fake_int(r, "idle_disconnect_timeout_in_seconds"), 600);
    r = fake_get(o.res, "aws_appstream_fleet", "plumb-elastic");
    ck_assert_int_eq((int)json_object_size(r->unknown), 0);
    ck_assert_int_eq(fake_scope(o.res, "aws_appstream_fleet")->status, COLLECT_OK);
    done(&f, &o);
}
END_TEST

START_TEST(listing_fails)
{
    static const struct fake_override ov[] = {
        { .op = "DescribeFleets", .error_code = "ThrottlingException", .kind = AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_appstream(&f, ov, &o);
    ck_assert_int_eq(fake_scope(o.res, "aws_appstream_fleet")->status, COLLECT_THROTTLED);
    ck_assert_str_eq(fake_scope(o.res, "aws_appstream_fleet")->detail,
                     "ThrottlingException: injected");
    ck_assert_int_eq((int)o.res->resources.n, 0);
    ck_assert_int_eq(fake_calls(&f, "ListTagsForResource", NULL), 0);
    done(&f, &o);
}
END_TEST

/* A fleet without a name or ARN cannot be mapped; two pages. */
START_TEST(pages_and_bad_items)
{
    static const struct fake_override ov[] = {
        { .op = "DescribeFleets",
          .pages = { "{\"Fleets\":[{\"Name\":\"a\",\"Arn\":\"arn:aws:appstream:eu-central-1:"
                     "123456789012:fleet/a\"}],\"NextToken\":\"t\"}",
                     "{\"Fleets\":[{\"Name\":\"nameless-arn\"}]}" } },
        { .op = "ListTagsForResource", .pages = { "{\"Tags\":{\"k\":\"v\"}}" } },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_appstream(&f, ov, &o);
    ck_assert_int_eq(fake_count(o.res, "aws_appstream_fleet"), 1);
    ck_assert_str_eq(fake_tag(fake_get(o.res, "aws_appstream_fleet", "a"), "k"), "v");
    ck_assert_int_eq(fake_scope(o.res, "aws_appstream_fleet")->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(o.res, "aws_appstream_fleet")->detail,
                     "an item could not be mapped");
    done(&f, &o);
}
END_TEST

START_TEST(registered)
{
    ck_assert_ptr_eq(collector_find("appstream"), &collect_appstream);
    ck_assert_str_eq(collect_appstream.iam_actions[0], "appstream:DescribeFleets");
    ck_assert_str_eq(collect_appstream.iam_actions[1], "appstream:ListTagsForResource");
    ck_assert_ptr_null(collect_appstream.iam_actions[2]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_appstream");
    TCase *tc = tcase_create("appstream");
    tcase_add_test(tc, fleets);
    tcase_add_test(tc, tags_fail_or_gone);
    tcase_add_test(tc, listing_fails);
    tcase_add_test(tc, pages_and_bad_items);
    tcase_add_test(tc, registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
