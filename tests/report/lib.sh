# lib.sh NAME - sourced by the report tests' scripts: SRC (the source tree), a
# temporary folder T removed on exit, and ok/bad, which count failures in fail.
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d "/tmp/pure_$1_XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
