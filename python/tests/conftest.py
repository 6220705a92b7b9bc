import os
import sys
from pathlib import Path

# the example lives outside the package: make it importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
