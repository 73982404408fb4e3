"""imgflow: the imgflow command's library from Python.

    import imgflow
    report = imgflow.run(["scans/"], "out/", ops=[("brightness", 0.25), ("contrast", 0.25)])
    page, info = imgflow.decode("scan.tif")
    brighter = imgflow.apply(page, [("brightness", 0.25)])

bild-exact point adjustments, the document operations (grayscale, normalize, threshold, deskew,
dpi), the command's strict decoders and its parallel pipeline. See help(imgflow.run) and
docs/library.md.
"""
from ._imgflow import Error, __version__, apply, decode, encode, run

__all__ = ["Error", "__version__", "apply", "decode", "encode", "run"]
