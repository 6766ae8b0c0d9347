"""Image export: window, resize, burn-in, encode and de-identify what leaves the workstation.

Above :mod:`workstation.compute` and :mod:`workstation.ml`, below :mod:`workstation.jobs`;
no Qt.  Every stage with a GPU path falls back to the CPU and then to a library
(:mod:`workstation.export.chain`); ``export.json`` records which path did the work.
"""
