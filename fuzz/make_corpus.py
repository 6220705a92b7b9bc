#!/usr/bin/env python3
"""Regenerates the committed seed corpus under fuzz/corpus/ (small valid and
malformed inputs per harness; the input layouts are described at the top of
each fuzz_*.c). Checkpoint seeds need the real writer:
  fuzz/make_corpus.py [path/to/ct_fuzz_ckpt_seed]
"""
import gzip, os, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(b):
    return gzip.compress(b, mtime=0)


def idx_images(n, rows, cols, magic=0x803):
    return struct.pack(">IIII", magic, n, rows, cols) + bytes((i * 37) & 255 for i in range(n * rows * cols))


def idx_labels(n, magic=0x801, first=3):
    return struct.pack(">II", magic, n) + bytes((first + i) % 10 for i in range(n))


def idx_pair(img, lab):
    return struct.pack("<I", len(img)) + img + lab


def corpus_idx():
    img, lab = idx_images(3, 2, 2), idx_labels(3)
    put("fuzz_idx", "valid", idx_pair(img, lab))
    put("fuzz_idx", "valid_gz", idx_pair(gz(img), gz(lab)))
    put("fuzz_idx", "valid_gz_images_raw_labels", idx_pair(gz(img), lab))
    put("fuzz_idx", "truncated_images", idx_pair(img[:-1], lab))
    put("fuzz_idx", "truncated_header", idx_pair(img[:10], lab))
    put("fuzz_idx", "truncated_gz", idx_pair(gz(img)[:-6], lab))
    put("fuzz_idx", "trailing_bytes", idx_pair(img + b"\0", lab))
    put("fuzz_idx", "wrong_magic", idx_pair(idx_images(3, 2, 2, magic=0x801), lab))
    put("fuzz_idx", "swapped_files", idx_pair(lab, img))
    put("fuzz_idx", "count_mismatch", idx_pair(img, idx_labels(4)))
    put("fuzz_idx", "label_out_of_range", idx_pair(img, struct.pack(">II", 0x801, 3) + b"\x01\x0a\x02"))
    put("fuzz_idx", "zero_images", idx_pair(struct.pack(">IIII", 0x803, 0, 2, 2), idx_labels(0)))
    put("fuzz_idx", "absurd_size", idx_pair(struct.pack(">IIII", 0x803, 0x7fffffff, 65535, 65535), idx_labels(1)))
    put("fuzz_idx", "huge_count", idx_pair(struct.pack(">IIII", 0x803, 0xffffffff, 1, 1) + b"\x01", idx_labels(1)))
    put("fuzz_idx", "gz_in_gz", idx_pair(gz(gz(img)), lab))
    put("fuzz_idx", "empty", b"")


def corpus_cifar():
    rec = lambda label, seed: bytes([label]) + bytes((seed + i * 7) & 255 for i in range(3072))
    two = rec(3, 1) + rec(9, 2)
    put("fuzz_cifar", "test_valid", b"\x00" + two)
    put("fuzz_cifar", "test_one_record", b"\x00" + rec(0, 5))
    put("fuzz_cifar", "test_truncated", b"\x00" + two[:-1])
    put("fuzz_cifar", "test_extra_byte", b"\x00" + two + b"\x00")
    put("fuzz_cifar", "test_bad_label", b"\x00" + rec(10, 1))
    put("fuzz_cifar", "test_empty", b"\x00")
    # train: mode bits 1..3 = number of batch files
    put("fuzz_cifar", "train_five", bytes([1 | (5 << 1)]) + rec(1, 1) + rec(2, 2) + rec(3, 3) + rec(4, 4) + rec(5, 5))
    put("fuzz_cifar", "train_missing_batches", bytes([1 | (2 << 1)]) + rec(1, 1) + rec(2, 2))
    put("fuzz_cifar", "train_five_short_last", bytes([1 | (5 << 1)]) + rec(1, 1) * 4 + rec(2, 2)[:100])


def corpus_straggle():
    specs = {
        "none": "none", "empty": "", "slow": "slow:0,2@3.5", "shifted_exp": "shifted-exp:1,3.2",
        "pareto": "pareto:1.5,2", "bimodal": "bimodal:0.1,50", "drop": "drop:1,3", "nan": "nan:0",
        "combined": "shifted-exp:0,1+slow:1@2+drop:3+bimodal:0.5,10", "bad_model": "fast:1",
        "bad_number": "slow:x@2", "out_of_range": "drop:99", "missing_at": "slow:1", "trailing": "none+",
        "too_many": "+".join(["bimodal:0.1,1"] * 9), "negative": "shifted-exp:-1,2", "inf": "pareto:inf,1",
        "fractional_worker": "drop:1.5", "trace_nofile": "trace:", "trace_elsewhere": "trace:/etc/passwd",
    }
    for name, s in specs.items():
        put("fuzz_straggle_spec", name, b"\x04" + s.encode())
    traces = {
        "trace_valid": "w0,w1,w2,w3\n0,1.5,2,3\n# comment\n\n4,5,inf,dead\n",
        "trace_no_header": "1,2,3,4\n",
        "trace_short_row": "1,2,3\n",
        "trace_long_row": "1,2,3,4,5\n",
        "trace_negative": "1,-2,3,4\n",
        "trace_nan": "1,nan,3,4\n",
        "trace_empty": "",
        "trace_only_header": "a,b,c,d\n",
        "trace_no_newline": "1,2,3,4",
        "trace_long_line": "1," * 40000 + "1\n",
    }
    for name, t in traces.items():
        put("fuzz_straggle_spec", name, b"\x04" + b"trace:@\0" + t.encode())
    put("fuzz_straggle_spec", "trace_combined", b"\x02" + b"slow:0@2+trace:@+drop:1\0" + b"1,2\n3,4\n")


def corpus_model():
    def m(dim, classes, epochs, model, sched, side=28):
        return struct.pack("<HBBB", dim, classes, epochs, side) + model.encode() + b"\0" + sched.encode()
    put("fuzz_model_spec", "chain", m(0, 0, 5, "mlp:784-256-10", "constant"))
    put("fuzz_model_spec", "chain_match", m(784, 10, 5, "mlp:784-256-128-10", "cosine"))
    put("fuzz_model_spec", "hidden_only", m(64, 10, 5, "mlp:256", "step:2,0.5"))
    put("fuzz_model_spec", "logreg", m(64, 10, 3, "logreg", "step:1,0.1"))
    put("fuzz_model_spec", "logreg_nodata", m(0, 0, 0, "logreg", "cosine"))
    put("fuzz_model_spec", "mismatch", m(100, 10, 5, "mlp:784-10", "step:0,0.5"))
    put("fuzz_model_spec", "too_deep", m(0, 0, 5, "mlp:" + "-".join(["4"] * 20), "step:2,-1"))
    put("fuzz_model_spec", "too_big", m(0, 0, 5, "mlp:10000000-10", "step:2,"))
    put("fuzz_model_spec", "garbage", m(0, 0, 5, "mlp:7--3", "step:x"))
    put("fuzz_model_spec", "empty", m(0, 0, 0, "", ""))
    put("fuzz_model_spec", "lenet5", m(784, 10, 5, "lenet5", "cosine"))
    put("fuzz_model_spec", "cifarnet", m(0, 10, 5, "cifarnet", "constant", side=32))
    put("fuzz_model_spec", "cnn_tokens", m(0, 10, 5, "cnn:c8k3p1s2-r-m3s2-a2-c4k1-r-f32-r-10", "constant", side=31))
    put("fuzz_model_spec", "cnn_shape", m(36, 4, 5, "cnn:1x6x6:c3k3p1-r-m2-f6-r-4", "constant", side=0))
    put("fuzz_model_spec", "cnn_bad", m(0, 10, 5, "cnn:c6k5-x-m2--c99k99p98-10-r", "constant", side=9))
    put("fuzz_model_spec", "overflow", m(0, 0, 5, "mlp:99999999999999999999-10", "step:99999999999,1e400"))


def corpus_cli():
    def argv(*a):
        return "\0".join(a).encode()
    put("fuzz_cli_flags", "basic", argv("--epochs", "3", "--batch", "64", "--lr", "0.1", "--model", "mlp:784-128-10"))
    put("fuzz_cli_flags", "coded", argv("--workers", "8", "--code", "cyclic", "--stragglers", "2", "--straggle",
                                        "drop:3,5", "--clock", "virtual", "--policy", "fastest-k", "--k", "6"))
    put("fuzz_cli_flags", "synthetic", argv("--dataset", "synthetic:1000,16,4", "--lr-schedule", "step:2,0.5",
                                            "--compress", "sign-ef", "--cancel-late", "off", "--general-path"))
    put("fuzz_cli_flags", "newlines", b"--seed\n18446744073709551615\n--target-acc\n0.85\n--progress\nlines")
    put("fuzz_cli_flags", "missing_value", argv("--epochs"))
    put("fuzz_cli_flags", "bad_values", argv("--epochs", "0", "--lr", "nan", "--seed", "-1"))
    put("fuzz_cli_flags", "overflow", argv("--batch", "99999999999999999999", "--deadline-ms", "1e999"))
    put("fuzz_cli_flags", "unknown", argv("--frobnicate", "--alpha", "0.5", "--device", "gpu"))
    put("fuzz_cli_flags", "bad_dataset", argv("--dataset", "synthetic:1,2", "--dataset", "synthetic9"))
    put("fuzz_cli_flags", "empty", b"")


def corpus_code():
    names = ["uncoded", "ignore", "frep", "cyclic", "cyclic-mds", "expander", "bgc", "sgc", "erasurehead",
             "alpha-subset", "alpha-cyclic", "ldgm"]
    for i, name in enumerate(names):
        # scheme, n, s+1, load+1, messages+1, alpha*200, seed u16, decoder, p*200, ldgm w, wait+1
        params = bytes([i, 8, 3, 0, 0, 180]) + struct.pack("<H", 7) + bytes([0, 255, 0, 0])
        # three arrival patterns: all, all but two, two workers
        masks = bytes([8]) + bytes(range(8)) + bytes([6, 0, 1, 2, 4, 5, 7]) + bytes([2, 3, 6])
        put("fuzz_code_spec", "scheme_" + name, params + bytes([len(name)]) + name.encode() + masks)
    put("fuzz_code_spec", "frep_not_dividing", bytes([0, 8, 3, 0, 0, 0, 1, 0, 0, 255, 0, 0, 4]) + b"frep" + bytes([8]) + bytes(range(8)))
    put("fuzz_code_spec", "cyclic_two_messages", bytes([0, 6, 3, 3, 3, 0, 1, 0, 2, 255, 0, 0, 6]) + b"cyclic" + bytes([4, 0, 2, 4, 5]))
    put("fuzz_code_spec", "unknown_name", bytes([3, 4, 2, 0, 0, 0, 1, 0, 0, 255, 0, 0, 7]) + b"frobnic")
    put("fuzz_code_spec", "zero_workers", bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))


def corpus_checkpoint(seed_tool):
    if not seed_tool:
        print("no ct_fuzz_ckpt_seed given: checkpoint seeds not regenerated", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([seed_tool, tmp], check=True)
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name), "rb") as f:
                data = f.read()
            stem = name.split(".")[0]
            put("fuzz_checkpoint", stem, data)
            if stem != "valid_full":
                continue
            n = struct.unpack("<Q", data[:8])[0]
            put("fuzz_checkpoint", "truncated_data", data[:-3])
            put("fuzz_checkpoint", "truncated_header", data[: 8 + n // 2])
            put("fuzz_checkpoint", "trailing_bytes", data + b"\0\0\0\0")
            put("fuzz_checkpoint", "huge_header_length", struct.pack("<Q", 1 << 40) + data[8:])
            put("fuzz_checkpoint", "flipped_data_byte", data[:-1] + bytes([data[-1] ^ 1]))
            hdr = data[8 : 8 + n]
            for label, old, new in [("wrong_dtype", b'"F32"', b'"F16"'), ("bad_shape", b'"shape":[3,2]', b'"shape":[2,3]'),
                                    ("bad_json", b'"__metadata__"', b'"__metadata__ '),
                                    ("bad_model", b'"model":"2-3-2"', b'"model":"2-3-x"')]:
                if old in hdr:
                    h2 = hdr.replace(old, new, 1)
                    put("fuzz_checkpoint", label, struct.pack("<Q", len(h2)) + h2 + data[8 + n :])
    put("fuzz_checkpoint", "empty", b"")
    put("fuzz_checkpoint", "tiny_json", struct.pack("<Q", 2) + b"{}")


if __name__ == "__main__":
    corpus_idx()
    corpus_cifar()
    corpus_straggle()
    corpus_model()
    corpus_cli()
    corpus_code()
    corpus_checkpoint(sys.argv[1] if len(sys.argv) > 1 else None)
