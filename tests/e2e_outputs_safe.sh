#!/usr/bin/env bash
# Nothing destroyed (issue 17): outputs are written only as regular files or
# created new; a expect run (exit 2, one message naming the flag and path)
# changes nothing that existed; a resumed run appends to its log; stale
# checkpoint temporaries of killed runs are cleaned; a log another run holds is
# refused; a write failure during the run is exit 1 with path and reason.
source "$(dirname "$0")/robust_common.sh"
run=(train --device cpu --threads 1 --dataset synthetic:300,8,3 --model mlp:16 --epochs 1 --progress off --seed 3)

# a file that must survive: its content before and after
keep() { printf 'precious %s\n' "$1" > "$1"; }
intact() { [ "$(cat "$1" 2>/dev/null)" = "precious $1" ] || fail "$2: $1 was changed"; }

# 1. outputs that are not regular files: refused, left as they were
mkfifo fifo
ln -s target.st link.st
keep target.st
expect 2 "--checkpoint fifo.*FIFO" -- "${run[@]}" --checkpoint fifo
[ -p fifo ] || fail "the FIFO was replaced"
expect 2 "--checkpoint link.st.*symlink" -- "${run[@]}" --checkpoint link.st
[ -L link.st ] || fail "the symlink was replaced"; intact target.st "checkpoint through a symlink"
expect 2 "--log link.st.*symlink" -- "${run[@]}" --log link.st
[ -L link.st ] || fail "the symlink was replaced by --log"; intact target.st "log through a symlink"
expect 2 "--log fifo.*FIFO" -- "${run[@]}" --log fifo
# device nodes: our own copies of /dev/null and /dev/full, never the system's (a
# binary with the bug this checks would replace them for the whole machine)
if mknod null.dev c 1 3 2>/dev/null && mknod full.dev c 1 7 2>/dev/null; then
    expect 2 "--checkpoint null.dev.*character device" -- "${run[@]}" --checkpoint null.dev
    [ -c null.dev ] || fail "--checkpoint replaced a device node"
    expect 2 "--log full.dev.*character device" -- "${run[@]}" --log full.dev
    [ -c full.dev ] || fail "--log replaced a device node"
else
    echo "note: cannot create device nodes here; device cases not run"
fi
ln -s missing-target dangling.jsonl
expect 2 "--log dangling.jsonl.*symlink" -- "${run[@]}" --log dangling.jsonl
[ -e missing-target ] && fail "--log wrote through a dangling symlink"

# 2. the same file given for two outputs, or an output that is the --resume input
keep both.x
expect 2 "same file" -- "${run[@]}" --log both.x --checkpoint ./both.x
intact both.x "--log X --checkpoint X"
"$bin" "${run[@]}" --checkpoint good.st >/dev/null 2>err || { fail "a plain checkpointing run failed"; cat err; }
cp good.st good.copy
expect 2 "--log good.st is the --resume checkpoint" -- "${run[@]}" --epochs 2 --resume good.st --log good.st
cmp -s good.st good.copy || fail "--resume X --log X changed the checkpoint"

# 3. output directories that do not exist or take no files: expect before any step
expect 2 "--checkpoint $tmp/no/dir/c.st.*No such file" -- "${run[@]}" --checkpoint "$tmp/no/dir/c.st"
expect 2 "--log $tmp/no/dir/l.jsonl" -- "${run[@]}" --log "$tmp/no/dir/l.jsonl"
grep -q "epoch" out && fail "a run with an unwritable --checkpoint trained first"
expect 2 "compare.*--out.*not a directory|--out" -- compare --codes uncoded --out good.copy --device cpu --dataset synthetic:300,8,3 --model mlp:16 --epochs 1
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    # a directory this user cannot write (as root, run the case as nobody)
    mkdir ro && chmod 555 ro && chmod 755 "$tmp"
    if setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" --version >/dev/null 2>&1; then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" "${run[@]}" --checkpoint ro/c.st >out 2>err
        rc=$?
        if [ "$rc" != 2 ] || ! grep -q "cannot create files in ro" err; then fail "read-only dir: exit $rc"; cat err; else echo "ok: read-only directory -> $(cat err)"; fi
    else
        echo "note: nobody cannot run $bin here; read-only directory case not run"
    fi
fi

# 4. expect resumes leave an existing log alone
keep old.jsonl
expect 2 "--resume missing.st" -- "${run[@]}" --resume missing.st --log old.jsonl
intact old.jsonl "a resume of a missing file"
expect 2 "--seed" -- "${run[@]}" --seed 4 --epochs 2 --resume good.st --log old.jsonl
intact old.jsonl "a resume with another --seed"
expect 2 "model" -- "${run[@]}" --model mlp:17 --epochs 2 --resume good.st --log old.jsonl
intact old.jsonl "a resume with another --model"

# 5. a resumed run appends to its log: the records before the interruption stay
"$bin" "${run[@]}" --epochs 2 --max-steps 3 --checkpoint r.st --log r.jsonl >/dev/null 2>err || { fail "first half"; cat err; }
first=$(wc -l < r.jsonl)
head -n "$first" r.jsonl > r.before
"$bin" "${run[@]}" --epochs 2 --resume r.st --checkpoint r.st --log r.jsonl >/dev/null 2>err || { fail "resumed half"; cat err; }
head -n "$first" r.jsonl | cmp -s - r.before || fail "the resumed run rewrote the log's first part"
[ "$(wc -l < r.jsonl)" -gt "$first" ] || fail "the resumed run wrote nothing to its log"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' r.jsonl || fail "the appended log is not JSON Lines"

# 6. stale PATH.tmp.PID of killed runs are removed; a live writer's is kept
sleep 60 & live=$!
dead=$( (sh -c 'echo $$') )
while kill -0 "$dead" 2>/dev/null; do dead=$((dead + 1)); done
echo junk > "c.st.tmp.$dead"; echo junk > "c.st.tmp.$live"; echo junk > "c.st.tmp.notapid"
"$bin" "${run[@]}" --checkpoint c.st >/dev/null 2>err || { fail "checkpoint run"; cat err; }
[ -e "c.st.tmp.$dead" ] && fail "stale c.st.tmp.$dead (pid not alive) was left"
[ -e "c.st.tmp.$live" ] || fail "c.st.tmp.$live of a live process was removed"
[ -e "c.st.tmp.notapid" ] || fail "a file not named PATH.tmp.PID was removed"
kill "$live" 2>/dev/null; wait "$live" 2>/dev/null

# 7. a log another run is writing is expect (and left alone)
keep busy.jsonl
flock busy.jsonl sleep 30 & holder=$!
sleep 0.5
expect 2 "--log busy.jsonl.*another run" -- "${run[@]}" --log busy.jsonl
intact busy.jsonl "a run on a locked log"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
# and two training runs on one log: the second refuses, the first's log stays JSON Lines
"$bin" "${run[@]}" --epochs 100000 --batch 4 --log shared.jsonl >/dev/null 2>&1 & first=$!
for _ in $(seq 1 300); do [ -s shared.jsonl ] && break; sleep 0.1; done
expect 2 "--log shared.jsonl.*another run" -- "${run[@]}" --log shared.jsonl
kill "$first" 2>/dev/null; wait "$first" 2>/dev/null
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' shared.jsonl || fail "the shared log is not JSON Lines"

# 8. a write failure during the run: exit 1 (runtime), naming the log and the reason
( trap '' XFSZ; ulimit -f 2; exec "$bin" "${run[@]}" --batch 4 --log big.jsonl ) >out 2>err
rc=$?
if [ "$rc" != 1 ] || ! grep -q -- "--log big.jsonl: write failed: File too large" err; then
    fail "log write failure mid-run: exit $rc"; cat err
else
    echo "ok: log write failure mid-run -> $(cat err)"
fi

finish
