"""codedtrain.Code against the C library's promises, through the Python API."""
import itertools
import subprocess

import numpy as np
import pytest

import codedtrain

SCHEMES = [("uncoded", dict(n=6)), ("ignore", dict(n=6, s=2)), ("frep", dict(n=6, s=2)), ("cyclic", dict(n=6, s=2)),
           ("cyclic-mds", dict(n=6, s=2)), ("expander", dict(n=6, s=2)), ("bgc", dict(n=6, s=2)),
           ("sgc", dict(n=6, s=2)), ("erasurehead", dict(n=6, s=2)), ("alpha-subset", dict(n=6, s=2, alpha=0.9)),
           ("alpha-cyclic", dict(n=6, s=2, alpha=0.9)), ("ldgm", dict(n=6, s=2))]


@pytest.mark.parametrize("scheme,kw", SCHEMES)
def test_encoding_matches_assignment(scheme, kw):
    code = codedtrain.Code(scheme, **kw)
    B = code.encoding
    assert B.shape == (code.total_messages, code.k)
    assignment = code.assignment
    assert len(assignment) == code.n
    sender = code.message_worker
    for r in range(code.total_messages):
        # a message only combines partitions its worker holds
        support = set(np.nonzero(B[r])[0].tolist())
        assert support <= set(assignment[sender[r]].tolist()), (r, support)
    # every partition is held by someone
    assert set(np.concatenate(assignment).tolist()) == set(range(code.k))


@pytest.mark.parametrize("scheme,kw", SCHEMES)
def test_decode_coefficients_zero_for_missing(scheme, kw):
    code = codedtrain.Code(scheme, **kw)
    arrived = list(range(code.s, code.n))
    a, residual = code.decode(arrived)
    assert a.shape == (code.total_messages,)
    sender = code.message_worker
    assert all(a[r] == 0 for r in range(len(a)) if sender[r] not in arrived)
    # the residual reported is the one of the coefficients returned
    ones = np.ones(code.k)
    assert residual == pytest.approx(np.linalg.norm(a @ code.encoding - ones) / np.sqrt(code.k), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("scheme", ["frep", "cyclic", "cyclic-mds", "erasurehead"])
def test_exact_codes_decode_every_straggler_set(scheme):
    code = codedtrain.Code(scheme, n=6, s=2)
    B = code.encoding
    for late in itertools.chain.from_iterable(itertools.combinations(range(6), r) for r in range(3)):
        arrived = [w for w in range(6) if w not in late]
        assert code.decodable(arrived)
        a, residual = code.decode(arrived)
        # float32 coefficients: the error is relative to the coefficients' size
        tol = 1e-5 * max(1.0, np.abs(a).max())
        assert np.abs(a @ B - 1).max() < tol, (late, a @ B)
        assert residual < tol
        assert code.last_decode["status"] == "exact"


def test_not_decodable_when_too_many_stragglers():
    code = codedtrain.Code("cyclic", n=6, s=1)
    assert not code.decodable([0, 1, 2, 3])
    code.decode([0, 1, 2, 3])
    assert code.last_decode["status"] == "none"


def test_bounds():
    assert codedtrain.Code("cyclic", n=6, s=2).residual_bound() == 0.0
    assert codedtrain.Code("bgc", n=6, s=2).residual_bound() is None
    b = codedtrain.alpha_load_bound(10, 3, 0.9)
    assert 1 <= b["load"] <= 4 and b["lost"] <= 0.1 + 1e-12
    assert codedtrain.alpha_load_bound(10, 3, 1.0)["load"] == pytest.approx(4.0)  # exact: s + 1


# constraints the code library checks: Python raises the message the CLI prints
@pytest.mark.parametrize("scheme,n,s", [("frep", 8, 2), ("frep", 10, 3), ("erasurehead", 9, 1)])
def test_errors_are_the_cli_messages(scheme, n, s):
    with pytest.raises(codedtrain.CodedtrainError) as e:
        codedtrain.Code(scheme, n=n, s=s)
    p = subprocess.run([codedtrain.binary_path(), "codes", "--scheme", scheme, "--workers", str(n),
                        "--stragglers", str(s)], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip() == "codedtrain codes: " + str(e.value)


def test_parameter_errors():
    with pytest.raises(codedtrain.CodedtrainError, match="nosuch"):
        codedtrain.Code("nosuch", n=4, s=1)
    with pytest.raises(codedtrain.CodedtrainError, match="s=4 must satisfy 0 <= s < n=4"):
        codedtrain.Code("cyclic", n=4, s=4)


def test_bad_arrival_index():
    with pytest.raises(codedtrain.CodedtrainError, match="arrived worker 9"):
        codedtrain.Code("cyclic", n=6, s=1).decode([0, 9])
