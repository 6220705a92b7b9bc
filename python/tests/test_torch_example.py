"""The PyTorch example: gradient coding of a torch model with codedtrain's codes."""
import torch_gradient_coding as example


def test_exact_code_decodes_the_uncoded_gradient():
    r = example.run("cyclic", workers=6, stragglers=2, epochs=2, steps=60, log=lambda *_: None)
    assert r["exact"] and r["steps"] == 60
    assert r["worst_rel_error"] < 1e-5  # float32 coefficients on float64 gradients
    assert r["test_acc"] > 0.5           # 5 classes: chance is 0.2


def test_frep_and_main():
    assert example.main(["--code", "frep", "--workers", "6", "--stragglers", "1", "--epochs", "1"]) == 0


def test_approximate_code_is_approximate():
    r = example.run("bgc", workers=6, stragglers=2, epochs=1, steps=20, log=lambda *_: None)
    assert not r["exact"] and r["worst_rel_error"] > 1e-3  # it would not be a test of decoding otherwise
