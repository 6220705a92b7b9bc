"""Runs from a config dict: records back, repeatable, errors as the CLI's."""
import pytest

import codedtrain

SMALL = {"dataset": "synthetic:2000,16,4", "model": "mlp:16-12-4", "device": "cpu", "batch": 40, "epochs": 1,
         "workers": 4, "stragglers": 1, "clock": "virtual", "straggle": "shifted-exp:0,2"}


def test_train_returns_records_and_repeats():
    recs = codedtrain.train(SMALL, code="cyclic", eval_every=10)
    assert recs[0]["type"] == "config" and recs[0]["code"] == "cyclic" and recs[0]["eval-every"] == 10
    steps = [r for r in recs if r["type"] == "step"]
    final = recs[-1]
    assert final["type"] == "final" and final["steps"] == len(steps) == 50
    assert 0.5 < final["test_acc"] <= 1
    # the run's own configuration record reruns it: the same records
    again = codedtrain.train({k: v for k, v in recs[0].items()})
    assert again == recs


def test_compare_table_and_runs():
    out = codedtrain.compare(SMALL, ["uncoded", "cyclic"], target_acc=0.5)
    assert [r["code"] for r in out["table"]] == ["uncoded", "cyclic"]
    for code, recs in out["runs"].items():
        assert recs[0]["type"] == "config" and recs[0]["code"] == code
        assert recs[-1]["type"] == "final"
    assert out["table"][0]["ratio_to_uncoded"] == pytest.approx(1.0)


def test_errors():
    with pytest.raises(codedtrain.CodedtrainError, match="key 'lr'.*--lr -1"):
        codedtrain.train(SMALL, lr=-1)
    with pytest.raises(codedtrain.CodedtrainError, match="unknown key 'bogus'"):
        codedtrain.train(SMALL, bogus=1)


def test_dataframe():
    pd = pytest.importorskip("pandas")  # optional: pandas is not a dependency
    df = codedtrain.dataframe(codedtrain.train(SMALL, code="frep", max_steps=5), "step")
    assert isinstance(df, pd.DataFrame) and len(df) == 5
