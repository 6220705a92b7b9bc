"""Gradient codes from libcodedtrain: who holds which partitions, the encoding
matrix, and decoding from whichever workers arrived (docs/schemes.md)."""
import ctypes
from collections import namedtuple

import numpy as np

from ._native import CodedtrainError, check, lib


class _Spec(ctypes.Structure):
    # include/codedtrain/codes.h: ct_code_spec (CT_CODE_SPEC_VERSION 1)
    _fields_ = [("version", ctypes.c_int), ("scheme", ctypes.c_int), ("n_workers", ctypes.c_int),
                ("stragglers", ctypes.c_int), ("load", ctypes.c_int), ("messages", ctypes.c_int),
                ("alpha", ctypes.c_double), ("seed", ctypes.c_uint64), ("decoder", ctypes.c_int),
                ("straggle_prob", ctypes.c_double), ("ldgm_weight", ctypes.c_int), ("wait_count", ctypes.c_int)]


class _Decode(ctypes.Structure):
    # include/codedtrain/codes.h: ct_decode_result
    _fields_ = [("coeffs", ctypes.POINTER(ctypes.c_float)), ("status", ctypes.c_int), ("residual", ctypes.c_double),
                ("recovered_fraction", ctypes.c_double), ("recovered", ctypes.POINTER(ctypes.c_ubyte)),
                ("n_arrived", ctypes.c_int), ("condition", ctypes.c_double), ("cache_hit", ctypes.c_int),
                ("residual_max", ctypes.c_double)]


class _AlphaBound(ctypes.Structure):
    _fields_ = [("load", ctypes.c_double), ("r1", ctypes.c_int), ("r2", ctypes.c_int), ("w1", ctypes.c_double),
                ("w2", ctypes.c_double), ("lost", ctypes.c_double)]


Decoded = namedtuple("Decoded", ["coefficients", "residual"])
_DECODERS = {None: 0, "default": 0, "fixed": 1, "optimal": 2}
_STATUS = {0: "exact", 1: "approx", 2: "none"}


class Code:
    """Code(scheme, n=..., s=..., load=None, messages=None, alpha=None, seed=1,
    decoder=None, straggle_prob=None, ldgm_weight=None, wait_count=None).

    scheme is a name as `codedtrain codes --help` lists them (uncoded, ignore,
    frep, cyclic, cyclic-mds, expander, bgc, sgc, erasurehead, alpha-subset,
    alpha-cyclic, ldgm, frep-mds). Impossible parameters raise CodedtrainError with the
    message the CLI prints."""

    def __init__(self, scheme, n, s=0, load=None, messages=None, alpha=None, seed=1, decoder=None,
                 straggle_prob=None, ldgm_weight=None, wait_count=None):
        L = lib()
        sch = ctypes.c_int()
        check(L.ct_code_scheme_parse(str(scheme).encode(), ctypes.byref(sch)))
        if decoder not in _DECODERS:
            raise CodedtrainError(f"decoder '{decoder}': expected default, fixed or optimal")
        spec = _Spec(version=1, scheme=sch.value, n_workers=int(n), stragglers=int(s), load=int(load or 0),
                     messages=int(messages or 0), alpha=float(alpha or 0.0), seed=int(seed),
                     decoder=_DECODERS[decoder], straggle_prob=-1.0 if straggle_prob is None else float(straggle_prob),
                     ldgm_weight=int(ldgm_weight or 0), wait_count=int(wait_count or 0))
        h = ctypes.c_void_p()
        check(L.ct_code_create(ctypes.byref(spec), ctypes.byref(h)))
        self._h = h
        self._L = L
        self.scheme = L.ct_code_scheme_name(sch.value).decode()
        self.n = L.ct_code_n_workers(h)
        self.k = L.ct_code_n_partitions(h)
        self.s = L.ct_code_stragglers(h)
        self.exact = bool(L.ct_code_is_exact(h))
        self._words = L.ct_code_mask_words(h)
        self.total_messages = L.ct_code_total_messages(h)
        self.last_decode = None

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            self._L.ct_code_destroy(h)
            self._h = None

    def __repr__(self):
        return f"Code({self.scheme!r}, n={self.n}, s={self.s}, k={self.k}, exact={self.exact})"

    @property
    def assignment(self):
        """Partitions per worker: a list of n integer arrays."""
        out = []
        for i in range(self.n):
            d = self._L.ct_code_load(self._h, i)
            p = self._L.ct_code_partitions(self._h, i)
            out.append(np.array([p[j] for j in range(d)], dtype=np.int64))
        return out

    @property
    def message_worker(self):
        """For each row of .encoding, the worker that sends that message."""
        return np.array([self._L.ct_code_message_worker(self._h, r) for r in range(self.total_messages)], dtype=np.int64)

    @property
    def encoding(self):
        """One row per message (all workers' messages, in message-slot order), one
        column per partition: message r = sum_j encoding[r, j] * g_j."""
        B = np.zeros((self.total_messages, self.k), dtype=np.float64)
        for i in range(self.n):
            d = self._L.ct_code_load(self._h, i)
            m = self._L.ct_code_messages(self._h, i)
            parts = self._L.ct_code_partitions(self._h, i)
            E = self._L.ct_code_encoding(self._h, i)
            for l in range(m):
                row = self._L.ct_code_message_index(self._h, i, l)
                for j in range(d):
                    B[row, parts[j]] += E[l * d + j]
        return B

    def _mask(self, arrived_workers):
        mask = (ctypes.c_uint64 * max(1, self._words))()
        for w in arrived_workers:
            w = int(w)
            if not 0 <= w < self.n:
                raise CodedtrainError(f"arrived worker {w}: expected 0..{self.n - 1}")
            check(self._L.ct_code_mask_add_worker(self._h, w, mask))
        return mask

    def decodable(self, arrived_workers):
        """The master's stopping rule: True when it would stop waiting with these workers."""
        return bool(self._L.ct_code_decodable(self._h, self._mask(arrived_workers)))

    def decode(self, arrived_workers):
        """(coefficients, residual): one coefficient per row of .encoding (zero for
        messages of workers that did not arrive), so that coefficients @ encoding
        is the all-ones vector for an exact decode; residual = ||a^T B - 1|| / sqrt(k).
        .last_decode holds the status, recovered fraction and condition number."""
        res = _Decode()
        check(self._L.ct_code_decode(self._h, self._mask(arrived_workers), ctypes.byref(res)))
        coef = np.array([res.coeffs[r] for r in range(self.total_messages)], dtype=np.float64)
        self.last_decode = {"status": _STATUS.get(res.status, "?"), "recovered_fraction": res.recovered_fraction,
                            "condition": res.condition, "n_arrived": res.n_arrived}
        return Decoded(coef, float(res.residual))

    def residual_bound(self, stragglers=None):
        """The bound on ||a^T B_F - 1||_2 the scheme promises with `stragglers`
        missing workers (default s), or None when it makes none."""
        b = self._L.ct_code_residual_bound(self._h, self.s if stragglers is None else int(stragglers))
        return None if b < 0 else float(b)


def alpha_load_bound(n, s, alpha):
    """Minimum normalised computation load of any code recovering a fraction
    alpha of the partitions under s stragglers (the partial-recovery LP bound)."""
    b = _AlphaBound()
    check(lib().ct_alpha_bound_solve(int(n), int(s), float(alpha), ctypes.byref(b)))
    return {"load": b.load, "r1": b.r1, "r2": b.r2, "w1": b.w1, "w2": b.w2, "lost": b.lost}
