#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_autoscaling.h"
#include "collect_kit.h"
#include "netfake.h"

static const char *const asg_ops[] = {
    "DescribeAutoScalingGroups",
    "DescribeLaunchConfigurations",
    "DescribeImages",
    NULL,
};

static void run_asg(struct fake *f, const struct fake_override *overrides, struct fake_run *o)
{
    fake_init(f, overrides);
    fake_load(f, "autoscaling");
    fake_collect(f, &collect_autoscaling, o);
}

static void done(struct fake *f, struct fake_run *o)
{
    fake_run_free(o);
    fake_close(f);
}

START_TEST(full_estate)
{
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    const json_t *lc_out, *img_out;
    run_asg(&f, NULL, &o);

    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 3);
    ck_assert_int_eq(fake_calls(&f, "DescribeAutoScalingGroups",
                                "{\"MaxRecords\":100,\"IncludeInstances\":false}"),
                     1);
    ck_assert_int_eq(fake_calls(&f, "DescribeLaunchConfigurations", "{\"MaxRecords\":100}"), 1);
    lc_out = fake_page(&f, "autoscaling", "DescribeLaunchConfigurations", 0, 0);
    img_out = fake_page(&f, "ec2", "DescribeImages", 0, 0);
    {
        char *params = str_printf(
            "{\"Filters\":[{\"Name\":\"image-id\",\"Values\":[\"%s\"]}],\"IncludeDeprecated\":"
            "true}",
            ck_str(json_array_get(json_object_get(lc_out, "LaunchConfigurations"), 0), "ImageId"));
        ck_assert_int_eq(fake_calls(&f, "DescribeImages", params), 1);
        free(params);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(f.log, 2), "service")),
                     "ec2");
    ck_assert_int_eq(fake_scope(o.res, "aws_autoscaling_group")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_launch_configuration")->status, COLLECT_OK);

    r = fake_get(o.res, "aws_autoscaling_group", "plumb-asg");
    ck_assert_str_eq(r->aws_type, "AWS::AutoScaling::AutoScalingGroup");
    ck_assert_str_eq(fake_str(r, "launch_configuration"), "plumb-lc");
    fake_attr_eq(r, "launch_template", "[]");
    ck_assert_int_eq(fake_int(r, "max_size"), 2);
    ck_assert_int_eq(fake_int(r, "min_size"), 0);
    ck_assert_int_eq(fake_int(r, "desired_capacity"), 0);
    ck_assert_str_eq(fake_str(r, "health_check_type"), "EC2");
    fake_attr_eq(r, "tag", "[{\"key\":\"team\",\"propagate_at_launch\":true,\"value\":\"net\"}]");
    ck_assert_str_eq(fake_tag(r, "team"), "net");
    ck_assert_str_eq(r->arn, fake_str(r, "arn"));
    ck_assert(str_has_suffix(r->arn, ":autoScalingGroupName/plumb-asg"));
    /* The comma-separated subnets become a set. */
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "vpc_zone_identifier")), 2);
    ck_assert(str_has_prefix(fake_str(r, "vpc_zone_identifier[0]"), "subnet-"));
    fake_attr_eq(r, "availability_zones", "[\"eu-central-1a\",\"eu-central-1b\"]");
    fake_attr_eq(r, "termination_policies", "[\"Default\"]");

    r = fake_get(o.res, "aws_autoscaling_group", "plumb-asg-lt");
    ck_assert(fake_null(r, "launch_configuration"));
    ck_assert_str_eq(fake_str(r, "launch_template[0].name"), "plumb-lt");
    ck_assert_str_eq(fake_str(r, "launch_template[0].version"), "$Latest");
    ck_assert(str_has_prefix(fake_str(r, "launch_template[0].id"), "lt-"));
    fake_attr_eq(r, "tag", "[]");

    r = fake_get(o.res, "aws_launch_configuration", "plumb-lc");
    ck_assert_str_eq(fake_str(r, "metadata_options[0].http_tokens"), "optional");
    ck_assert_str_eq(fake_str(r, "metadata_options[0].http_endpoint"), "enabled");
    ck_assert_int_eq(fake_int(r, "metadata_options[0].http_put_response_hop_limit"), 1);
    ck_assert_str_eq(fake_str(r, "instance_type"), "t3.micro");
    ck_assert(!fake_bool(r, "enable_monitoring"));
    /* The image's root device decides which mapping is the root. */
    ck_assert_str_eq(
        ck_str(json_array_get(json_object_get(img_out, "Images"), 0), "RootDeviceName"),
        "/dev/sda1");
    fake_attr_eq(r, "root_block_device",
                 "[{\"delete_on_termination\":null,\"encrypted\":true,\"iops\":null,"
                 "\"throughput\":null,\"volume_size\":16,\"volume_type\":\"gp3\"}]");
    fake_attr_eq(r, "ebs_block_device",
                 "[{\"delete_on_termination\":null,\"device_name\":\"/dev/sdg\","
                 "\"encrypted\":null,\"iops\":null,\"no_device\":false,\"snapshot_id\":null,"
                 "\"throughput\":null,\"volume_size\":50,\"volume_type\":\"st1\"}]");
    ck_assert_int_eq((int)json_object_size(r->tags), 0);

    fake_check_typemap(o.res, "collect_autoscaling", asg_ops);
    done(&f, &o);
}
END_TEST

START_TEST(denied_groups_throttled_images)
{
    static const struct fake_override failures[] = {
        { .op = "DescribeAutoScalingGroups",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "autoscaling:DescribeAutoScalingGroups" },
        { .op = "DescribeImages", .error_code = "RequestLimitExceeded", .kind = AWS_ERR_THROTTLED },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_asg(&f, failures, &o);
    ck_assert_int_eq(fake_scope(o.res, "aws_autoscaling_group")->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_autoscaling_group")->detail,
                     "autoscaling:DescribeAutoScalingGroups");
    ck_assert_int_eq(fake_count(o.res, "aws_autoscaling_group"), 0);
    ck_assert_int_eq(fake_scope(o.res, "aws_launch_configuration")->status, COLLECT_OK);
    r = fake_get(o.res, "aws_launch_configuration", "plumb-lc");
    ck_assert_str_eq(fake_str(r, "metadata_options[0].http_tokens"), "optional");
    ck_assert_ptr_null(fake_attr(r, "root_block_device"));
    ck_assert_str_eq(fake_unknown(r, "root_block_device"),
                     "throttled:RequestLimitExceeded: injected");
    ck_assert_str_eq(fake_unknown(r, "ebs_block_device"),
                     "throttled:RequestLimitExceeded: injected");
    done(&f, &o);
}
END_TEST

START_TEST(denied_launch_configurations)
{
    static const struct fake_override failures[] = {
        { .op = "DescribeLaunchConfigurations",
          .error_code = "AccessDenied",
          .kind = AWS_ERR_ACCESS_DENIED,
          .iam_action = "autoscaling:DescribeLaunchConfigurations" },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_asg(&f, failures, &o);
    ck_assert_int_eq(fake_scope(o.res, "aws_launch_configuration")->status, COLLECT_ACCESS_DENIED);
    ck_assert_str_eq(fake_scope(o.res, "aws_launch_configuration")->detail,
                     "autoscaling:DescribeLaunchConfigurations");
    ck_assert_int_eq(fake_calls(&f, "DescribeImages", NULL), 0);
    ck_assert_int_eq(fake_count(o.res, "aws_autoscaling_group"), 2);
    done(&f, &o);
}
END_TEST

/* Several launch configurations sharing images, one image gone, an
 * instance-store mapping, and no launch configurations at all. */
static const struct fake_override lc_shapes[] = {
    { .op = "DescribeLaunchConfigurations",
      .pages = { "{\"LaunchConfigurations\":["
                 "{\"LaunchConfigurationName\":\"b\",\"ImageId\":\"ami-2\",\"BlockDeviceMappings\":"
                 "[{\"DeviceName\":\"/dev/xvda\",\"Ebs\":{\"VolumeSize\":8}},"
                 "{\"DeviceName\":\"/dev/sdb\",\"VirtualName\":\"ephemeral0\"},"
                 "{\"DeviceName\":\"/dev/sdc\",\"NoDevice\":true}]},"
                 "{\"LaunchConfigurationName\":\"a\",\"ImageId\":\"ami-1\"},"
                 "{\"LaunchConfigurationName\":\"c\",\"ImageId\":\"ami-2\"},"
                 "{\"ImageId\":\"ami-3\"}]}" } },
    { .op = "DescribeImages",
      .params = "{\"Filters\":[{\"Name\":\"image-id\",\"Values\":[\"ami-1\",\"ami-2\","
                "\"ami-3\"]}],\"IncludeDeprecated\":true}",
      .pages = { "{\"Images\":[{\"ImageId\":\"ami-2\",\"RootDeviceName\":\"/dev/xvda\"}]}" } },
    { NULL },
};

START_TEST(launch_configuration_shapes)
{
    struct fake f;
    struct fake_run o;
    const struct resource *r;
    run_asg(&f, lc_shapes, &o);
    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq(fake_calls(&f, "DescribeImages", NULL), 1);
    r = fake_get(o.res, "aws_launch_configuration", "b");
    ck_assert_int_eq(fake_int(r, "root_block_device[0].volume_size"), 8);
    /* The instance-store mapping is neither root nor EBS. */
    ck_assert_int_eq((int)json_array_size(fake_attr(r, "ebs_block_device")), 1);
    ck_assert_str_eq(fake_str(r, "ebs_block_device[0].device_name"), "/dev/sdc");
    ck_assert(fake_bool(r, "ebs_block_device[0].no_device"));
    r = fake_get(o.res, "aws_launch_configuration", "a");
    ck_assert_str_eq(fake_unknown(r, "root_block_device"), "error:image ami-1 not found");
    ck_assert_ptr_null(fake_attr(r, "ebs_block_device"));
    fake_attr_eq(fake_get(o.res, "aws_launch_configuration", "c"), "root_block_device", "[]");
    ck_assert_int_eq(fake_count(o.res, "aws_launch_configuration"), 3);
    ck_assert_int_eq(fake_scope(o.res, "aws_launch_configuration")->status, COLLECT_ERROR);
    ck_assert_str_eq(fake_scope(o.res, "aws_launch_configuration")->detail,
                     "an item could not be mapped");
    done(&f, &o);
}
END_TEST

/* botocore's parsed Auto Scaling responses (shared fixtures): an account
 * without groups or launch configurations is an empty, complete read, and
 * needs no image lookup. */
START_TEST(botocore_empty_account)
{
    static const struct fake_override fixtures[] = {
        { .op = "DescribeAutoScalingGroups",
          .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                     "autoscaling-describe-auto-scaling-groups.json" },
        { .op = "DescribeLaunchConfigurations",
          .fixture = "aws-responses/botocore-response-parsing/xml/responses/"
                     "autoscaling-describe-launch-configurations.json" },
        { NULL },
    };
    struct fake f;
    struct fake_run o;
    run_asg(&f, fixtures, &o);
    ck_assert_int_eq(f.unmatched, 0);
    ck_assert_int_eq((int)json_array_size(f.log), 2);
    ck_assert_int_eq(fake_scope(o.res, "aws_autoscaling_group")->status, COLLECT_OK);
    ck_assert_int_eq(fake_scope(o.res, "aws_launch_configuration")->status, COLLECT_OK);
    ck_assert_int_eq((int)o.res->resources.n, 0);
    done(&f, &o);
}
END_TEST

START_TEST(registered)
{
    ck_assert_ptr_eq(collector_find("autoscaling"), &collect_autoscaling);
    ck_assert_str_eq(collect_autoscaling.iam_actions[0], "autoscaling:DescribeAutoScalingGroups");
    ck_assert_str_eq(collect_autoscaling.iam_actions[1],
                     "autoscaling:DescribeLaunchConfigurations");
    ck_assert_str_eq(collect_autoscaling.iam_actions[2], "ec2:DescribeImages");
    ck_assert_ptr_null(collect_autoscaling.iam_actions[3]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("collect_autoscaling");
    TCase *tc = tcase_create("autoscaling");
    tcase_add_test(tc, full_estate);
    tcase_add_test(tc, denied_groups_throttled_images);
    tcase_add_test(tc, denied_launch_configurations);
    tcase_add_test(tc, launch_configuration_shapes);
    tcase_add_test(tc, botocore_empty_account);
    tcase_add_test(tc, registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
