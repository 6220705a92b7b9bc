"""codedtrain from Python: gradient codes of libcodedtrain through ctypes (numpy
in and out) and coded training runs from a config dict.

    import codedtrain
    code = codedtrain.Code("cyclic", n=8, s=2)
    code.assignment        # partitions per worker
    code.encoding          # messages x partitions
    a, residual = code.decode([0, 1, 2, 4, 5, 7])
    records = codedtrain.train({"workers": 8, "code": "frep", "stragglers": 1, "clock": "virtual"})
"""
from ._native import CodedtrainError, binary_path, library_path
from .codes import Code, Decoded, alpha_load_bound
from .runs import compare, dataframe, read_log, train

__all__ = ["Code", "Decoded", "CodedtrainError", "alpha_load_bound", "train", "compare", "dataframe", "read_log",
           "library_path", "binary_path"]
__version__ = "0.1.0"
