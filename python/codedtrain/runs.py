"""Training runs from a config dict: the keys are `codedtrain train` flags
without the dashes (as in a log's first record), handed to the codedtrain
program through `--config`; the records of its JSON Lines log come back."""
import json
import os
import subprocess
import tempfile

from ._native import CodedtrainError, binary_path


def _run(args, what):
    exe = binary_path()
    if not os.path.isfile(exe):
        raise CodedtrainError(f"codedtrain program not found at {exe} (reinstall the package, or set CODEDTRAIN_BINARY)")
    p = subprocess.run([exe] + args, capture_output=True, text=True)
    if p.returncode != 0:
        msg = p.stderr.strip().splitlines()
        text = msg[-1] if msg else f"exit status {p.returncode}"
        prefix = f"codedtrain {what}: "
        raise CodedtrainError(text[len(prefix):] if text.startswith(prefix) else text, p.returncode)
    return p.stdout


def _write_config(tmp, config):
    path = os.path.join(tmp, "config.json")
    with open(path, "w") as f:
        json.dump(dict(config), f)
    return path


def read_log(path):
    """The records of a JSON Lines log, as dicts."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def train(config, **overrides):
    """Runs `codedtrain train` with config (a dict, or a path to a log or JSON
    file) plus overrides (keys with '-' or '_'); returns the log's records: the
    resolved configuration first, then step, eval, epoch and final records."""
    cfg = _merge(config, overrides)
    with tempfile.TemporaryDirectory(prefix="codedtrain-") as tmp:
        log = os.path.join(tmp, "run.jsonl")
        _run(["train", "--config", _write_config(tmp, cfg), "--log", log, "--progress", "off"], "train")
        return read_log(log)


def compare(config, codes, **overrides):
    """Runs `codedtrain compare` over `codes` (a list of names) with the same
    config; returns {"table": [one row per code], "runs": {code: records}}."""
    cfg = _merge(config, overrides)
    cfg.pop("code", None)
    with tempfile.TemporaryDirectory(prefix="codedtrain-") as tmp:
        out = os.path.join(tmp, "out")
        table = _run(["compare", "--config", _write_config(tmp, cfg), "--codes", ",".join(codes), "--out", out,
                      "--json", "--progress", "off"], "compare")
        runs = {c: read_log(os.path.join(out, c + ".jsonl")) for c in codes}
        return {"table": json.loads(table), "runs": runs}


def dataframe(records, type="step"):
    """Records of one type as a pandas DataFrame (needs pandas)."""
    try:
        import pandas as pd
    except ImportError as e:  # pandas is optional
        raise CodedtrainError("dataframe() needs pandas (pip install pandas)") from e
    return pd.DataFrame([r for r in records if r.get("type") == type])


def _merge(config, overrides):
    if isinstance(config, (str, os.PathLike)):
        with open(config) as f:
            first = f.readline() if str(config).endswith(".jsonl") else f.read()
        base = json.loads(first)
        base = {k: v for k, v in base.items() if k not in ("type", "codedtrain_version", "device_used")}
    else:
        base = dict(config)
    for k, v in overrides.items():
        base[k.replace("_", "-")] = v
    return base
