#!/usr/bin/env python3
"""Turns `perf script` output (stdin) into a flame graph (SVG, stdout).

Self-contained so that profiling needs nothing from outside Debian: stacks are folded (root
first, one count per sample), then drawn as nested boxes whose width is the share of samples.
Hover a box for its function, samples and share.
Usage: perf script -i perf.data | scripts/flamegraph.py [--title T] > flame.svg
"""
import argparse
import html
import re
import sys
import zlib
from collections import defaultdict

FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.*?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$")


def fold(lines):
    """Yields (stack tuple root-first, count) from perf script's sample blocks."""
    stacks = defaultdict(int)
    comm, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                stacks[tuple([comm] + frames[::-1])] += 1
            comm, frames = None, []
        elif not line[0].isspace():
            comm = line.split()[0]
        else:
            m = FRAME.match(line)
            if m:
                name = m.group(1)
                if name == "[unknown]":
                    name = "[" + m.group(2).rsplit("/", 1)[-1] + "]"
                frames.append(name)
    if comm is not None:
        stacks[tuple([comm] + frames[::-1])] += 1
    return stacks


def build_tree(stacks):
    root = {"name": "all", "value": 0, "children": {}}
    for stack, count in stacks.items():
        root["value"] += count
        node = root
        for name in stack:
            node = node["children"].setdefault(name, {"name": name, "value": 0, "children": {}})
            node["value"] += count
    return root


def colour(name):
    h = zlib.crc32(name.encode())
    return "rgb({},{},{})".format(205 + h % 50, 80 + (h >> 8) % 120, 40 + (h >> 16) % 50)


def render(root, title, width=1200, row=16):
    total = max(root["value"], 1)
    boxes, depth_max = [], 0

    def walk(node, x, depth):
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        w = node["value"] / total * (width - 20)
        if w >= 0.3:
            boxes.append((x, depth, w, node))
        cx = x
        for child in sorted(node["children"].values(), key=lambda n: n["name"]):
            walk(child, cx, depth + 1)
            cx += child["value"] / total * (width - 20)

    walk(root, 10, 0)
    height = (depth_max + 1) * row + 60
    out = ['<?xml version="1.0" standalone="no"?>',
           f'<svg version="1.1" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" '
           'font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#fdfdf6"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{html.escape(title)}</text>']
    for x, depth, w, node in boxes:
        y = height - 20 - (depth + 1) * row
        share = 100.0 * node["value"] / total
        label = html.escape(node["name"])
        out.append(f'<g><title>{label} ({node["value"]} samples, {share:.2f}%)</title>'
                   f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" fill="{colour(node["name"])}" rx="2"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = node["name"] if len(node["name"]) <= chars else node["name"][: chars - 2] + ".."
            out.append(f'<text x="{x + 3:.2f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--title", default="imgflow: where the CPU time goes")
    args = parser.parse_args()
    stacks = fold(sys.stdin)
    if not stacks:
        sys.exit("flamegraph: no samples in the input")
    sys.stdout.write(render(build_tree(stacks), f"{args.title} ({sum(stacks.values())} samples)"))


if __name__ == "__main__":
    main()
