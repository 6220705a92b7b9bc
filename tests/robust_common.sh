# Shared by the issue-17 robustness scripts (not a test itself: the name does not
# start with e2e_). Sets bin, a scratch directory (the working directory, removed
# at exit), fail() and expect().
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/$(basename "$0" .sh).$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

# expect STATUS PATTERN -- ARGS: the CLI exits STATUS with PATTERN (extended regex,
# empty: anything) on stderr; stdout in ./out, stderr in ./err. A hang guard of
# 50 s, below the 60 s cap a dead worker used to cost per step.
expect() {
    local want="$1" pattern="$2"; shift 3
    timeout 50 "$bin" "$@" >out 2>err
    local got=$?
    if [ "$got" != "$want" ]; then fail "'$*' exited $got, expected $want"; cat err; return 1; fi
    if [ -n "$pattern" ] && ! grep -qE -- "$pattern" err; then fail "'$*' stderr lacks /$pattern/:"; cat err; return 1; fi
    echo "ok: $* -> $(head -1 err)"
}

finish() {
    echo "$fails failed"
    [ "$fails" = 0 ]
}
