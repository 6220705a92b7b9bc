#!/usr/bin/env bash
# Repeatable runs: a log's first record is the whole resolved configuration;
# `train --config LOG` reruns it and, on the virtual clock, writes the identical
# log; flags override the file; a JSON object with the same keys works too; bad
# keys, values and other data are refused (exit 2) before any work.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_config_rerun.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run=(--device cpu --dataset synthetic:2400,16,4 --model mlp:16-12-4 --batch 48 --epochs 2 --seed 7
     --workers 6 --code frep --stragglers 1 --clock virtual --straggle shifted-exp:0,2+drop:3
     --lr 0.03 --lr-schedule cosine --momentum 0.5 --eval-every 10 --compress sign-ef --progress off)
"$bin" train "${run[@]}" --log "$tmp/a.jsonl" || fail "first run exited $?"
head -1 "$tmp/a.jsonl" | grep -q '"type":"config"' || fail "first record is not the configuration"
# the same run from its own log: the identical log, byte for byte
"$bin" train --config "$tmp/a.jsonl" --log "$tmp/b.jsonl" --progress off || fail "rerun exited $?"
cmp "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "rerun from the log differs"
# flags override the file (wherever --config stands)
"$bin" train --seed 8 --config "$tmp/a.jsonl" --log "$tmp/c.jsonl" --progress off || fail "override exited $?"
cmp -s "$tmp/a.jsonl" "$tmp/c.jsonl" && fail "--seed 8 over the config changed nothing"
"$bin" train "${run[@]}" --seed 8 --log "$tmp/d.jsonl" || fail "seed-8 run exited $?"
cmp "$tmp/c.jsonl" "$tmp/d.jsonl" || fail "config + --seed 8 differs from the same flags typed out"
# a hand-written JSON object with a few keys: the rest stay at their defaults
cat > "$tmp/cfg.json" <<'JSON'
{ "dataset": "synthetic:2400,16,4", "model": "mlp:16-12-4", "device": "cpu",
  "batch": 48, "epochs": 1, "workers": 4, "code": "cyclic", "stragglers": 1,
  "clock": "virtual", "straggle": "shifted-exp:0,1", "general-path": true, "k-schedule": null }
JSON
"$bin" train --config "$tmp/cfg.json" --log "$tmp/e.jsonl" --progress off || fail "JSON config exited $?"
"$bin" train --dataset synthetic:2400,16,4 --model mlp:16-12-4 --device cpu --batch 48 --epochs 1 --workers 4 \
    --code cyclic --stragglers 1 --clock virtual --straggle shifted-exp:0,1 --general-path --progress off \
    --log "$tmp/f.jsonl" || fail "typed-out run exited $?"
cmp "$tmp/e.jsonl" "$tmp/f.jsonl" || fail "JSON config differs from the same flags typed out"
# refusals: exit 2, one message naming the key or file, and no log written
refuse() {  # refuse PATTERN ARGS...
  local pat="$1"; shift
  rm -f "$tmp/x.jsonl"
  "$bin" train "$@" --log "$tmp/x.jsonl" --progress off >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ $rc -eq 2 ] || fail "$* exited $rc, expected 2"
  grep -q -- "$pat" "$tmp/err" || fail "$*: message lacks '$pat': $(cat "$tmp/err")"
  [ -e "$tmp/x.jsonl" ] && fail "$*: wrote a log although refused"
  return 0
}
echo '{"lr": 0.1, "bogus": 1}' > "$tmp/bad1.json"; refuse "unknown key 'bogus'" --config "$tmp/bad1.json"
echo '{"lr": -3}' > "$tmp/bad2.json";              refuse "key 'lr'" --config "$tmp/bad2.json"
echo '{"lr": 0.1,' > "$tmp/bad3.json";              refuse "bad3.json" --config "$tmp/bad3.json"
echo '{"workers": [1,2]}' > "$tmp/bad4.json";       refuse "nested" --config "$tmp/bad4.json"
echo '{"async": "yes"}' > "$tmp/bad5.json";         refuse "key 'async' takes no value" --config "$tmp/bad5.json"
refuse "cannot open" --config "$tmp/missing.json"
tail -n +2 "$tmp/a.jsonl" > "$tmp/noconf.jsonl";     refuse "not a run's configuration" --config "$tmp/noconf.jsonl"
# other data files than the log's: refused unless the data flags are given again
fm=/usr/share/datasets/fashion-mnist
if [ -e "$fm/train-images-idx3-ubyte" ] || [ -e "$fm/train-images-idx3-ubyte.gz" ]; then
  "$bin" train --device cpu --max-steps 2 --epochs 1 --log "$tmp/fm.jsonl" --progress off || fail "fashion run exited $?"
  grep -q '"dataset_checksum":"fnv1a64:[0-9a-f]\{16\}"' "$tmp/fm.jsonl" || fail "no dataset checksum in the record"
  sed '1s/"dataset_checksum":"fnv1a64:[0-9a-f]*"/"dataset_checksum":"fnv1a64:0000000000000000"/' "$tmp/fm.jsonl" > "$tmp/other.jsonl"
  refuse "checksum" --config "$tmp/other.jsonl"
  "$bin" train --config "$tmp/other.jsonl" --data "$fm" --progress off >/dev/null \
      || fail "--data given again over a checksum mismatch exited $?"
else
  echo "note: $fm not installed; the data-checksum refusal was not checked"
fi
echo "ok: rerun from the log identical ($(wc -l < "$tmp/a.jsonl") records)"
