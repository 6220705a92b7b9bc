"""Where the C library and the program are: CODEDTRAIN_LIBRARY / CODEDTRAIN_BINARY
when set, else the copies the package was installed with (codedtrain/_native/)."""
import ctypes
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent / "_native"


class CodedtrainError(Exception):
    """A refusal or failure of codedtrain, with the message its CLI prints."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def library_path():
    return os.environ.get("CODEDTRAIN_LIBRARY") or str(_HERE / "libcodedtrain.so")


def binary_path():
    return os.environ.get("CODEDTRAIN_BINARY") or str(_HERE / "codedtrain")


_lib = None


def lib():
    """The loaded libcodedtrain (ctypes), with the signatures this package uses."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    if not Path(path).is_file():
        raise CodedtrainError(f"libcodedtrain not found at {path} (reinstall the package, or set CODEDTRAIN_LIBRARY)")
    L = ctypes.CDLL(path)
    c_int, c_double, c_void_p, c_char_p = ctypes.c_int, ctypes.c_double, ctypes.c_void_p, ctypes.c_char_p
    sigs = {
        "ct_last_error": (c_char_p, []),
        "ct_status_str": (c_char_p, [c_int]),
        "ct_code_scheme_parse": (c_int, [c_char_p, ctypes.POINTER(c_int)]),
        "ct_code_scheme_name": (c_char_p, [c_int]),
        "ct_code_create": (c_int, [c_void_p, ctypes.POINTER(c_void_p)]),
        "ct_code_destroy": (None, [c_void_p]),
        "ct_code_get_spec": (c_void_p, [c_void_p]),
        "ct_code_n_workers": (c_int, [c_void_p]),
        "ct_code_n_partitions": (c_int, [c_void_p]),
        "ct_code_stragglers": (c_int, [c_void_p]),
        "ct_code_is_exact": (c_int, [c_void_p]),
        "ct_code_load": (c_int, [c_void_p, c_int]),
        "ct_code_partitions": (ctypes.POINTER(c_int), [c_void_p, c_int]),
        "ct_code_messages": (c_int, [c_void_p, c_int]),
        "ct_code_encoding": (ctypes.POINTER(ctypes.c_float), [c_void_p, c_int]),
        "ct_code_message_index": (c_int, [c_void_p, c_int, c_int]),
        "ct_code_message_worker": (c_int, [c_void_p, c_int]),
        "ct_code_total_messages": (c_int, [c_void_p]),
        "ct_code_mask_words": (c_int, [c_void_p]),
        "ct_code_mask_add_worker": (c_int, [c_void_p, c_int, ctypes.POINTER(ctypes.c_uint64)]),
        "ct_code_decode": (c_int, [c_void_p, ctypes.POINTER(ctypes.c_uint64), c_void_p]),
        "ct_code_decodable": (c_int, [c_void_p, ctypes.POINTER(ctypes.c_uint64)]),
        "ct_code_residual_bound": (c_double, [c_void_p, c_int]),
        "ct_alpha_bound_solve": (c_int, [c_int, c_int, c_double, c_void_p]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(L, name)
        f.restype, f.argtypes = res, args
    _lib = L
    return L


def check(status):
    """Raise the library's message (as the CLI prints it) for a failed status."""
    if status != 0:
        L = lib()
        msg = L.ct_last_error()
        raise CodedtrainError(msg.decode() if msg else L.ct_status_str(status).decode(), status)
