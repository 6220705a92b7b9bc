#!/usr/bin/env bash
# A checkpoint written by `codedtrain train --checkpoint` is a valid safetensors
# file: the Python `safetensors` library loads every tensor with the shapes of
# the model string, the metadata holds the documented keys, the checksum
# verifies with an independent implementation (zlib.crc32 over the file with the
# 8 digits read as '0'), and a numpy forward pass of the loaded weights matches
# the accuracy `codedtrain eval` reports when Fashion-MNIST is present. With
# torch installed, the weights also load into the torch.nn.Sequential of the
# same layers, and for a LeNet-5 checkpoint the README's snippet (Sequential +
# safetensors.torch.load_file) gives the accuracy `codedtrain eval` reports.
# Python: $CT_PYTHON, else the build's venv (make pyenv: Debian's python3 with
# its torch and numpy, plus safetensors from PyPI), else python3. Skipped where
# that python lacks safetensors or numpy.
set -u
bin="$1"
venv_py="$(dirname "$bin")/pyenv/bin/python"
py="${CT_PYTHON:-python3}"
[ -z "${CT_PYTHON:-}" ] && [ -x "$venv_py" ] && py="$venv_py"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_ckpt_st.$$"
if ! "$py" -c "import safetensors, numpy" 2>/dev/null; then
    echo "SKIP: $py cannot import safetensors and numpy (pip install safetensors numpy)"
    exit 77
fi
if ! "$bin" train --help 2>/dev/null | grep -q -- '--checkpoint'; then
    echo "SKIP: codedtrain train has no --checkpoint yet"
    exit 77
fi
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
data="${CT_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
if [ -d "$data" ]; then
    "$bin" train --device cpu --data "$data" --model mlp:784-24-16-10 --epochs 1 --max-steps 30 --seed 5 --progress off \
        --checkpoint "$tmp/m.st" || { echo "FAIL: train exited $?"; exit 1; }
    "$bin" eval --checkpoint "$tmp/m.st" --data "$data" --device cpu --json > "$tmp/eval.json" || { echo "FAIL: eval exited $?"; exit 1; }
else
    data=""
    "$bin" train --device cpu --dataset synthetic:2000,12,3 --model mlp:12-8-3 --epochs 1 --seed 5 --progress off \
        --checkpoint "$tmp/m.st" || { echo "FAIL: train exited $?"; exit 1; }
fi
"$py" - "$tmp/m.st" "$data" "$tmp/eval.json" <<'PY' || fails=$((fails+1))
import gzip, json, os, re, struct, sys, zlib
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, data_dir, eval_json = sys.argv[1], sys.argv[2], sys.argv[3]
fails = []
tensors = load_file(path)
with safe_open(path, framework="np") as f:
    meta = f.metadata()
for key in ("format", "format_version", "model", "step", "epoch", "step_in_epoch", "seed", "virtual_time",
            "norm_mean", "norm_std", "config", "checksum"):
    if key not in meta:
        fails.append("metadata lacks " + key)
if meta.get("format") != "codedtrain-checkpoint":
    fails.append("format %r" % meta.get("format"))
json.loads(meta["config"])  # the run's flags are JSON
if not meta["model"].startswith("mlp:"):
    fails.append("model %r is not an mlp: string" % meta["model"])
sizes = [int(s) for s in meta["model"][4:].split("-")]
L = len(sizes) - 1
expected = {}
for l in range(L):  # torch.nn.Sequential(Linear, ReLU, Linear, ...): Linear l is module 2l
    for prefix in ("", "optimizer.momentum."):
        expected[prefix + "%d.weight" % (2 * l)] = (sizes[l + 1], sizes[l])
        expected[prefix + "%d.bias" % (2 * l)] = (sizes[l + 1],)
for name, shape in expected.items():
    t = tensors.get(name)
    if t is None:
        fails.append("missing tensor " + name)
    elif t.shape != shape or t.dtype != np.float32:
        fails.append("%s: %s %s, expected %s float32" % (name, t.shape, t.dtype, shape))
extra = set(tensors) - set(expected)
if any(not n.startswith("state.") for n in extra):
    fails.append("unexpected tensors %s" % sorted(extra))

# the checksum, independently: CRC-32 of the file with the stored 8 digits read as '0'
raw = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
if n % 8:
    fails.append("header length %d is not a multiple of 8" % n)
header = raw[8:8 + n].decode("utf-8")
m = re.search(r'"checksum":"crc32:([0-9a-f]{8})"', header)
if not m:
    fails.append("no checksum in the header")
else:
    at = 8 + len(header[:m.start(1)].encode("utf-8"))
    raw[at:at + 8] = b"00000000"
    if "%08x" % (zlib.crc32(bytes(raw)) & 0xFFFFFFFF) != m.group(1):
        fails.append("checksum does not verify")

# forward pass in numpy; with Fashion-MNIST it must agree with `codedtrain eval`
if data_dir:
    def idx(name):
        p = os.path.join(data_dir, name)
        opener = open if os.path.exists(p) else gzip.open
        with opener(p if os.path.exists(p) else p + ".gz", "rb") as f:
            b = f.read()
        dims = struct.unpack(">I", b[:4])[0] & 0xFF
        shape = struct.unpack(">" + "I" * dims, b[4:4 + 4 * dims])
        return np.frombuffer(b, np.uint8, offset=4 + 4 * dims).reshape(shape)
    x = idx("t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / np.float32(255)
    y = idx("t10k-labels-idx1-ubyte")
    x = (x - np.float32(meta["norm_mean"])) / np.float32(meta["norm_std"])
    h = x
    for l in range(L):
        h = h @ tensors["%d.weight" % (2 * l)].T + tensors["%d.bias" % (2 * l)]
        if l + 1 < L:
            h = np.maximum(h, 0)
    acc = float((h.argmax(1) == y).mean())
    ev = json.load(open(eval_json))
    if abs(acc - ev["test_acc"]) > 0.002:  # float summation order may flip a rare near-tie
        fails.append("numpy accuracy %.4f, codedtrain eval %.4f" % (acc, ev["test_acc"]))
    print("numpy forward: test_acc %.4f, codedtrain eval %.4f" % (acc, ev["test_acc"]))

try:
    import torch
    from safetensors.torch import load_file as load_torch

    mods = []
    for l in range(L):
        mods.append(torch.nn.Linear(sizes[l], sizes[l + 1]))
        if l + 1 < L:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    sd = {k: v for k, v in load_torch(path).items() if k[0].isdigit()}
    model.load_state_dict(sd, strict=True)
    print("torch: loaded into nn.Sequential of %d nn.Linear" % L)
except ImportError:
    print("torch not installed: skipped the nn.Module check")

for f in fails:
    print("FAIL:", f)
print("%d tensors, model %s, step %s: %s" % (len(tensors), meta["model"], meta["step"], "ok" if not fails else "FAILED"))
sys.exit(1 if fails else 0)
PY
# LeNet-5: the README's snippet loads it into torch.nn.Sequential; with
# Fashion-MNIST, torch's accuracy must match `codedtrain eval`
if "$py" -c "import torch" 2>/dev/null; then
    if [ -n "$data" ]; then
        "$bin" train --device cpu --data "$data" --model lenet5 --epochs 1 --max-steps 40 --seed 5 --progress off \
            --checkpoint "$tmp/lenet5.safetensors" || { echo "FAIL: lenet5 train exited $?"; exit 1; }
        "$bin" eval --checkpoint "$tmp/lenet5.safetensors" --data "$data" --device cpu --json > "$tmp/eval5.json" ||
            { echo "FAIL: lenet5 eval exited $?"; exit 1; }
    else
        "$bin" train --device cpu --dataset synthetic:2000,784,10 --model cnn:1x28x28:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-10 \
            --epochs 1 --max-steps 5 --seed 5 --progress off --checkpoint "$tmp/lenet5.safetensors" ||
            { echo "FAIL: lenet5 train exited $?"; exit 1; }
    fi
    (cd "$tmp" && "$py" - "$data" "$tmp/eval5.json") <<'PY' || fails=$((fails+1))
import gzip, json, os, struct, sys
import numpy as np
import torch
# ---- the README's snippet, verbatim ----
import torch.nn as nn
from safetensors.torch import load_file
net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
net.load_state_dict({k: v for k, v in load_file("lenet5.safetensors").items() if k[0].isdigit()})
# ----
from safetensors import safe_open
with safe_open("lenet5.safetensors", framework="np") as f:
    meta = f.metadata()
assert meta["model"] == "cnn:1x28x28:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-10", meta["model"]
data_dir = sys.argv[1]
if data_dir:
    def idx(name):
        p = os.path.join(data_dir, name)
        with (open if os.path.exists(p) else gzip.open)(p if os.path.exists(p) else p + ".gz", "rb") as f:
            b = f.read()
        dims = struct.unpack(">I", b[:4])[0] & 0xFF
        return np.frombuffer(b, np.uint8, offset=4 + 4 * dims).reshape(struct.unpack(">" + "I" * dims, b[4:4 + 4 * dims]))
    x = torch.from_numpy(idx("t10k-images-idx3-ubyte").astype(np.float32) / np.float32(255)).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))
    x = (x - float(meta["norm_mean"])) / float(meta["norm_std"])
    with torch.no_grad():
        acc = float((net(x).argmax(1) == y).float().mean())
    ev = json.load(open(sys.argv[2]))
    print("torch Sequential: test_acc %.4f, codedtrain eval %.4f" % (acc, ev["test_acc"]))
    sys.exit(0 if abs(acc - ev["test_acc"]) <= 0.002 else 1)
print("torch Sequential: lenet5 checkpoint loaded (no Fashion-MNIST: accuracy not compared)")
PY
else
    echo "torch not installed: skipped the LeNet-5 nn.Sequential check"
fi
echo "$fails failed"
[ "$fails" = 0 ]
