"""The Python module against independent references: bild's tables (and bild's formulas written
here again, in Python, checked against those tables before they serve for 16-bit samples), the
command's own outputs, and OpenCV's and Pillow's decoders."""
import concurrent.futures
import filecmp
import math
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import imgflow

cv2 = pytest.importorskip("cv2")

# bild's adjustments (package adjust) on a sample scale [0, top]: the formula in float64, then
# clamped and truncated, one step after another.
FORMULAS = {
    "brightness": lambda v, top, p: v * (1 + p),
    "contrast": lambda v, top, p: (((v / top) - 0.5) * (1 + p) + 0.5) * top,
    "gamma": lambda v, top, p: math.pow(v / top, 1 / p) * top,
}


def naive_table(chain, top):
    values = list(range(top + 1))
    for name, param in chain:
        values = [int(min(max(FORMULAS[name](float(v), float(top), param), 0.0), float(top))) for v in values]
    return np.array(values)


def bild_tables(shared):
    for line in (shared / "reference" / "bild-tables.tsv").read_text().splitlines():
        chain_text, table = line.split("\t")
        chain = [(step.split("=")[0], float(step.split("=")[1])) for step in chain_text.split(",")]
        yield chain_text, chain, np.array([int(v) for v in table.split()], dtype=np.uint8)


def test_apply_is_exact_against_bilds_tables_on_uint8(shared):
    every = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for text, chain, table in bild_tables(shared):
        assert np.array_equal(imgflow.apply(every, chain), table.reshape(16, 16)), text
        rgba = np.dstack([every, every[::-1], every.T, np.full_like(every, 77)])
        out = imgflow.apply(rgba, chain)
        assert np.array_equal(out[..., :3], table[rgba[..., :3]]), text
        assert np.array_equal(out[..., 3], rgba[..., 3]), text + ": alpha must not change"
        in_place = every.copy()
        assert imgflow.apply(in_place, chain, inplace=True) is in_place
        assert np.array_equal(in_place, table.reshape(16, 16)), text


def test_apply_on_uint16_follows_bilds_formulas_at_16_bits(shared):
    every = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    for text, chain, table in bild_tables(shared):
        assert np.array_equal(naive_table(chain, 255), table), "the Python reference must match bild at 8 bits: " + text
        expected = naive_table(chain, 65535).astype(np.uint16).reshape(256, 256)
        assert np.array_equal(imgflow.apply(every, chain), expected), text
        gray_alpha = np.dstack([every, every.T])
        out = imgflow.apply(gray_alpha, chain)
        assert out.dtype == np.uint16 and np.array_equal(out[..., 0], expected)
        assert np.array_equal(out[..., 1], every.T)


def test_grayscale_and_threshold_match_bild_on_every_row_of_its_table(shared):
    table = np.loadtxt(shared / "reference" / "bild-gray.tsv", dtype=np.int64, skiprows=1)
    rgb = table[:, :3].astype(np.uint8).reshape(-1, 1, 3)
    gray = imgflow.apply(rgb, ["grayscale"])
    assert gray.shape == (len(table), 1, 1)
    assert np.array_equal(gray.ravel(), table[:, 3])
    # threshold_min_level: the lowest level at which the pixel turns black (white where rank >= level).
    for level in (1, 77, 128, 200, 256):
        white = imgflow.apply(rgb, [("threshold", level)]).ravel() == 255
        assert np.array_equal(white, table[:, 4] > level), level


def test_every_layout_is_accepted_or_refused_clearly():
    base = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    for shape in [(6, 8), (6, 8, 1), (6, 8, 2), (6, 8, 3), (6, 8, 4)]:
        array = np.zeros(shape, np.uint8) + 100
        assert imgflow.apply(array, [("brightness", 0.5)]).shape == shape
    with pytest.raises(TypeError, match="uint8 or uint16"):
        imgflow.apply(base.astype(np.float64), [])
    with pytest.raises(TypeError, match="uint8 or uint16"):
        imgflow.apply(base.astype(np.int16), [])
    with pytest.raises(TypeError, match="astype"):
        imgflow.apply(np.zeros((4, 4), bool), [])
    with pytest.raises(TypeError, match="big-endian"):
        imgflow.apply(np.zeros((4, 4), ">u2"), [])
    with pytest.raises(ValueError, match="empty"):
        imgflow.apply(np.zeros((0, 5, 3), np.uint8), [])
    with pytest.raises(ValueError, match="channels"):
        imgflow.apply(np.zeros((4, 4, 5), np.uint8), [])
    with pytest.raises(ValueError, match="dimensions"):
        imgflow.apply(np.zeros((2, 4, 4, 3), np.uint8), [])
    with pytest.raises(ValueError, match="contiguous"):
        imgflow.apply(base[:, ::2], [])
    with pytest.raises(ValueError, match="contiguous"):
        imgflow.apply(np.asfortranarray(base), [])
    with pytest.raises(ValueError, match="read-only"):
        frozen = base.copy()
        frozen.flags.writeable = False
        imgflow.apply(frozen, [("brightness", 0.1)], inplace=True)
    with pytest.raises(imgflow.Error, match="brightness must be") as raised:
        imgflow.apply(base, [("brightness", -5)])
    assert raised.value.stage == "settings"
    with pytest.raises(imgflow.Error, match="no operation is called 'brightnes'"):
        imgflow.apply(base, [("brightnes", 0.1)])
    with pytest.raises(imgflow.Error, match="apply it into a new image"):
        imgflow.apply(base.copy(), ["grayscale"], inplace=True)


def test_in_place_on_a_strided_view_changes_only_the_view():
    page = np.full((50, 60, 3), 200, np.uint8)
    window = page[10:20, 5:25]  # rows far apart: zero-copy, in place
    imgflow.apply(window, [("brightness", -0.5)], inplace=True)
    assert (page[10:20, 5:25] == 100).all()
    page[10:20, 5:25] = 200
    assert (page == 200).all(), "nothing outside the view may change"
    copy_source = np.full((50, 60, 3), 200, np.uint8)
    out = imgflow.apply(copy_source[10:20, 5:25], [("brightness", -0.5)])
    assert out.flags.c_contiguous and (out == 100).all() and (copy_source == 200).all()


def test_threads_calling_apply_give_the_same_bytes(shared):
    page, _ = imgflow.decode(shared / "corpus" / "formats" / "Pillow__pil_sample_rgb.jpg")
    ops = [("brightness", 0.25), ("contrast", 0.25), "grayscale", ("threshold", "otsu")]
    expected = imgflow.apply(page, ops).tobytes()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: imgflow.apply(page, ops).tobytes(), range(64)))
    assert all(r == expected for r in results)


def test_reference_counts_do_not_leak_over_10000_calls():
    array = np.full((8, 8, 3), 120, np.uint8)
    png = imgflow.encode(array)
    ops = [("brightness", 0.25)]
    for call in (lambda: imgflow.apply(array, ops), lambda: imgflow.apply(array, ops, inplace=True),
                 lambda: imgflow.decode(png)):
        call()
        before = sys.getrefcount(array), sys.getrefcount(png), sys.getrefcount(ops)
        for _ in range(10000):
            call()
        assert (sys.getrefcount(array), sys.getrefcount(png), sys.getrefcount(ops)) == before
    decoded, _ = imgflow.decode(png)
    base = decoded.base
    assert sys.getrefcount(base) == 3, "held by the array, `base` and getrefcount's argument only"
    del decoded
    assert sys.getrefcount(base) == 2, "the array let go of its pixels' owner"


def test_decode_matches_opencv_on_the_real_corpus(shared):
    checked = 0
    for path in sorted((shared / "corpus" / "real").glob("*.png"))[:30]:
        ours, info = imgflow.decode(path)
        theirs = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if theirs is None or info["bit_depth"] == 1:
            continue
        if theirs.ndim == 3:  # OpenCV gives BGR(A)
            theirs = theirs[..., [2, 1, 0, 3][: theirs.shape[2]]]
        if theirs.shape != ours.shape or theirs.dtype != ours.dtype:
            continue  # OpenCV widened a gray+alpha or palette page: another layout, not other pixels
        assert np.array_equal(ours, theirs), path.name
        checked += 1
    assert checked >= 10


def test_decode_bytes_pages_metadata_and_errors(shared):
    formats = shared / "corpus" / "formats"
    five = formats / "TwelveMonkeys__fivepages-scan-causingerrors.tif"
    first, info = imgflow.decode(five.read_bytes())
    assert info["pages"] == 5 and info["format"] == "TIFF" and info["page"] == 1
    third, info3 = imgflow.decode(five, page=3)
    assert info3["page"] == 3 and third.shape[:2] == (info3["height"], info3["width"])
    with pytest.raises(imgflow.Error, match="no page 6: the file has 5 pages") as raised:
        imgflow.decode(five, page=6)
    assert raised.value.file == str(five) and raised.value.stage == "decode"
    _, hopper = imgflow.decode(formats / "Pillow__hopper.iccprofile.tif")  # SOURCES.tsv: sRGB profile, 96 dpi
    assert hopper["srgb"] and hopper["icc"] is None and hopper["dpi"] == (96.0, 96.0)
    g4, g4_info = imgflow.decode(formats / "Pillow__pport_g4.tif")  # G4, 200 dpi, a 3588-byte gray profile
    assert g4_info["bit_depth"] == 1 and set(np.unique(g4)) <= {0, 255} and g4.shape == (3296, 2548)
    assert len(g4_info["icc"]) == 3588 and g4_info["dpi"] == (200.0, 200.0) and not g4_info["srgb"]
    assert np.array_equal(g4 == 255, np.array(__import__("PIL.Image").Image.open(formats / "Pillow__pport_g4.tif")))
    with pytest.raises(imgflow.Error) as missing:
        imgflow.decode("/nonexistent/page.png")
    assert missing.value.stage == "read" and missing.value.file == "/nonexistent/page.png"
    with pytest.raises(imgflow.Error, match="decode"):
        imgflow.decode(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(TypeError):
        imgflow.decode(12)


def test_encode_round_trips_through_independent_decoders(tmp_path):
    rgb = (np.arange(40 * 30 * 3) % 251).astype(np.uint8).reshape(40, 30, 3)
    for fmt in ("png", "tiff", "webp", "jp2"):
        options = {"lossless": True} if fmt in ("webp", "jp2") else {}
        data = imgflow.encode(rgb, fmt, dpi=300, **options)
        back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(back[..., ::-1], rgb), fmt
    sixteen = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16
    with pytest.warns(UserWarning, match="high 8 bits"):
        jpeg = imgflow.encode(sixteen, "jpeg")
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    with pytest.raises(imgflow.Error, match="--quality applies"):
        imgflow.encode(rgb, "png", quality=50)


def corpus_inputs(shared, folder):
    """A folder of real files written by other programs: PNG layouts, TIFF pages, JPEG, JP2."""
    folder.mkdir()
    formats = shared / "corpus" / "formats"
    for name in ["TwelveMonkeys__fivepages-scan-causingerrors.tif", "Pillow__pil_sample_rgb.jpg", "Pillow__pport_g4.tif",
                 "Pillow__hopper_16bit.pgm", "glymur__nemo.jp2", "Pillow__hopper.iccprofile.tif"]:
        os.symlink(formats / name, folder / name)
    for path in sorted((shared / "corpus" / "pngsuite").glob("*.png"))[::6]:
        os.symlink(path, folder / path.name)
    return folder


def same_tree(a, b):
    names_a = sorted(p.relative_to(a) for p in a.rglob("*"))
    names_b = sorted(p.relative_to(b) for p in b.rglob("*"))
    assert names_a == names_b
    for name in names_a:
        if (a / name).is_file():
            assert filecmp.cmp(a / name, b / name, shallow=False), str(name)


def test_run_gives_the_commands_bytes(shared, command, tmp_path):
    inputs = corpus_inputs(shared, tmp_path / "in")
    for fmt, extra_flags, extra in [("png", [], {}), ("tiff", [], {"format": "tiff"}),
                                    ("pdf", ["--join"], {"format": "pdf", "join": "documents"})]:
        by_command = tmp_path / f"command-{fmt}"
        by_module = tmp_path / f"module-{fmt}"
        done = subprocess.run([command, "-q", "--no-progress", "--grayscale", "--threshold", "otsu", "--format", fmt,
                               *extra_flags, str(inputs), str(by_command)], capture_output=True, text=True, timeout=300)
        report = imgflow.run([inputs], by_module, ops=["grayscale", ("threshold", "otsu")], **extra)
        assert report["exit_code"] == done.returncode
        same_tree(by_command, by_module)
        assert report["counts"]["written"] > 5
        failed = {f["input"] for f in report["failures"]}
        assert all(name in done.stderr for name in failed)


def test_run_reports_progress_messages_and_errors(shared, tmp_path):
    inputs = corpus_inputs(shared, tmp_path / "in")
    seen, lines = [], []
    report = imgflow.run(str(inputs), tmp_path / "out", progress=seen.append,
                         messages=lambda level, text: lines.append((level, text)), threads=2)
    assert seen and seen[-1]["done"] == seen[-1]["total"]
    assert any(level == "info" and "written" in text for level, text in lines)
    assert not any(level == "debug" for level, text in lines)
    verbose = []
    imgflow.run([inputs], tmp_path / "out-v", messages=lambda level, text: verbose.append((level, text)), verbose=True)
    assert sum(level == "debug" and text.startswith("wrote ") for level, text in verbose) >= report["counts"]["written"]
    assert report["settings"]["threads"] == 2
    with pytest.raises(imgflow.Error, match="does not exist") as raised:
        imgflow.run(["/nonexistent"], tmp_path / "out2")
    assert raised.value.stage == "list"
    with pytest.raises(imgflow.Error, match="--quality applies"):
        imgflow.run([inputs], tmp_path / "out3", quality=50)
    with pytest.raises(TypeError, match="unexpected keyword argument 'qualty'"):
        imgflow.run([inputs], tmp_path / "out3", qualty=50)
    with pytest.raises(TypeError, match="threads must be an int"):
        imgflow.run([inputs], tmp_path / "out3", threads="2")


# SIGINT from another thread once two outputs are in place, while the main thread waits inside
# imgflow.run (not in a callback): the wait must let Python's handler run.
KEYBOARD_INTERRUPT = r"""
import os, sys, threading, time, signal
sys.path.insert(0, sys.argv[1])
import imgflow
out = sys.argv[3]
def interrupt():
    while len([n for n in os.listdir(out) if not n.startswith(".")]) < 2 if os.path.isdir(out) else True:
        time.sleep(0.005)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
try:
    imgflow.run([sys.argv[2]], out, ops=[("deskew", 10), ("dpi", 600)], threads=1, max_in_flight=1, assume_dpi=300)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_stops_a_run_and_leaves_no_partial_output(tmp_path):
    sample = pathlib.Path(__file__).resolve().parents[2] / "data"
    inputs = tmp_path / "in"
    inputs.mkdir()
    pages = sorted(sample.glob("*.png"))
    for i in range(40):
        os.symlink(pages[i % len(pages)], inputs / f"page-{i:03d}.png")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", KEYBOARD_INTERRUPT, str(pathlib.Path(imgflow.__file__).parents[1]),
                           str(inputs), str(out)], capture_output=True, text=True, timeout=120)
    assert "interrupted" in done.stdout, done.stderr
    written = sorted(p.name for p in out.iterdir())
    assert 2 <= len(written) < 40, "stopped early, after what was in flight"
    assert all(not name.startswith(".") for name in written), "no temporary left"
    for name in written:
        decoded = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert decoded is not None, name + " is whole"


def test_stubs_and_docstrings_come_from_the_declarations(command):
    stub = (pathlib.Path(imgflow.__file__).parent / "__init__.pyi").read_text()
    help_text = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60).stdout
    for name, flag, kind, text in imgflow._imgflow._settings():
        if name in ("inputs", "output_dir", "operations"):
            continue
        assert f"    {name}: " in stub, name
        assert flag in help_text and text.split(" (")[0][:40] in " ".join(help_text.split()), name
        assert name in imgflow.run.__doc__
    assert (pathlib.Path(imgflow.__file__).parent / "py.typed").exists()
    __import__("ast").parse(stub)
    # Every declared setting is a keyword run() takes, with its type checked.
    wrong = {"bool": "yes", "int": "7", "float": "7", "str": 7, "path": 7}
    for name, flag, kind, text in imgflow._imgflow._settings():
        if name in ("inputs", "output_dir", "operations"):
            continue
        with pytest.raises(TypeError, match=f"{name} must be"):
            imgflow.run(["in"], "out", **{name: wrong[kind]})


def test_runs_from_several_threads_at_once_give_the_same_bytes(tmp_path):
    sample = pathlib.Path(__file__).resolve().parents[2] / "data"

    def one(i):
        return imgflow.run([sample], tmp_path / f"out{i}", ops=[("brightness", 0.25), ("contrast", 0.25)], threads=2)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(one, range(8)))
    assert all(r["exit_code"] == 0 and r["counts"]["written"] == reports[0]["counts"]["written"] > 0 for r in reports)
    for i in range(1, 8):
        same_tree(tmp_path / "out0", tmp_path / f"out{i}")
