#!/bin/sh
# Run the libFuzzer targets for a while each.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default: 60 s, every target
#
# Builds ./build-fuzz with clang, ASan and UBSan (once), seeds each corpus
# from ../shared/fixtures and tests/, and stops at the first crash.  A crash
# leaves its input in tests/fuzz/crashes/; once fixed, move it to
# tests/fuzz/regressions/<target>/ so the normal test suite replays it.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"config tfstate ignore awsxml awsjson controls mime webhook tz"}
fixtures=${PLUMB_FIXTURES:-$(pwd)/../shared/fixtures}

command -v clang >/dev/null || { echo "SKIP: clang is not installed"; exit 77; }
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=true \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi

seeds() {
    case "$1" in
    config) echo "etc tests/fuzz/regressions/config" ;;
    tfstate) echo "$fixtures/tfstate tests/data/tfstate tests/fuzz/regressions/tfstate" ;;
    ignore) echo "tests/data/ignore tests/fuzz/regressions/ignore" ;;
    awsxml) echo "$fixtures/aws-responses/botocore-response-parsing/xml $fixtures/aws-responses/libcloud $fixtures/aws-responses/jclouds tests/fuzz/regressions/awsxml" ;;
    awsjson) echo "$fixtures/aws-responses/botocore-response-parsing/json $fixtures/aws-responses/cloud-custodian-placebo $fixtures/aws-responses/libcloud/ecs-ecr-json11 tests/fuzz/regressions/awsjson" ;;
    controls) echo "etc/baseline tests/fuzz/regressions/controls" ;;
    mime) echo "tests/fuzz/regressions/mime" ;;
    webhook) echo "tests/fuzz/regressions/webhook" ;;
    tz) echo "/usr/share/zoneinfo/Europe /usr/share/zoneinfo/Australia tests/fuzz/regressions/tz" ;;
    esac
}

mkdir -p tests/fuzz/crashes
status=0
for t in $targets; do
    bin=build-fuzz/tests/fuzz/fuzz-$t
    if ! ninja -C build-fuzz "tests/fuzz/fuzz-$t" >/dev/null 2>&1; then
        if [ ! -f "tests/fuzz/fuzz-$t.c" ]; then
            echo "fuzz-$t: no target yet, skipped"
            continue
        fi
        echo "fuzz-$t: build failed"; ninja -C build-fuzz "tests/fuzz/fuzz-$t" | tail -20
        exit 1
    fi
    corpus=build-fuzz/corpus-$t
    mkdir -p "$corpus"
    dirs=""
    for d in $(seeds "$t"); do [ -d "$d" ] && dirs="$dirs $d"; done
    echo "fuzz-$t: ${secs}s"
    # shellcheck disable=SC2086
    if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$t-" "$corpus" $dirs \
        >"build-fuzz/fuzz-$t.log" 2>&1; then
        echo "fuzz-$t: CRASH (see build-fuzz/fuzz-$t.log and tests/fuzz/crashes/)"
        tail -40 "build-fuzz/fuzz-$t.log"
        status=1
    else
        grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/fuzz-$t.log" |
            sed "s/^/  /"
    fi
done
exit $status
