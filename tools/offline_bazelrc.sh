#!/bin/sh
# Prints, on stdout, a bazelrc for Debian's bazel-bootstrap 4.2.3 without network: it points
# the repositories that @bazel_tools and dlcoder load (rules_cc, rules_java, rules_python,
# remote_coverage_tools) at the stand-ins in third_party/bazel4_shims/, and turns off Debian's
# --sandbox_debug.
#
#   tools/offline_bazelrc.sh > .bazelrc.offline         # the repo's .bazelrc try-imports it
#   bazel --bazelrc=/abs/offline.bazelrc build //...     # or from any other workspace
#
# Bazel 4 does not expand %workspace% in --override_repository, so the paths are absolute.
set -eu
shims=$(cd "$(dirname "$0")/../third_party/bazel4_shims" && pwd -P)
for repo in rules_cc rules_java rules_python remote_coverage_tools; do
    for command in build fetch query sync; do
        echo "$command --override_repository=$repo=$shims/$repo"
    done
done
echo "build --nosandbox_debug"
