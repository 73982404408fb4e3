#!/usr/bin/env python3
"""Draws an imgflow --trace file as a timeline (SVG, stdout): one row per thread (named as the
trace names it: worker N, imgflow-read, imgflow-write), one box
per image and stage, coloured by stage. Perfetto (ui.perfetto.dev) or chrome://tracing show
the same file interactively; this is the picture for a README or a report.
Usage: scripts/timeline.py trace.json [--title T] [--width PIXELS] > timeline.svg
"""
import argparse
import html
import json

COLOURS = {"read": "#8fb8de", "decode": "#e07a5f", "analyse": "#3d405b", "adjust": "#81b29a",
           "neighbourhood": "#6d597a", "encode": "#f2cc8f", "write": "#9d8ec7"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace")
    parser.add_argument("--title", default="imgflow timeline")
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    events = json.load(open(args.trace))["traceEvents"]
    spans = [e for e in events if e.get("ph") == "X"]
    if not spans:
        raise SystemExit("timeline: no spans in " + args.trace)
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    # Workers first, then the I/O threads, each in order of first use.
    threads = sorted({e["tid"] for e in spans}, key=lambda t: (names.get(t, "worker").startswith("imgflow"), t))
    end = max(e["ts"] + e["dur"] for e in spans)
    left, right, row, top = 110, 20, 26, 40
    scale = (args.width - left - right) / end
    height = top + row * len(threads) + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{args.width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{args.width / 2}" y="20" text-anchor="middle" font-size="15">{html.escape(args.title)}</text>']
    for i, tid in enumerate(threads):
        y = top + i * row
        out.append(f'<text x="{left - 8}" y="{y + row / 2 + 4}" text-anchor="end">{html.escape(names.get(tid, f"worker {tid}"))}</text>')
        out.append(f'<line x1="{left}" x2="{args.width - right}" y1="{y + row - 2}" y2="{y + row - 2}" stroke="#eee"/>')
    for e in spans:
        y = top + threads.index(e["tid"]) * row
        x, w = left + e["ts"] * scale, max(e["dur"] * scale, 0.5)
        tip = f'{e["name"]} {e["args"].get("file", "")} {e["dur"] / 1000:.2f} ms'
        out.append(f'<rect x="{x:.2f}" y="{y + 2}" width="{w:.2f}" height="{row - 6}" '
                   f'fill="{COLOURS.get(e["name"], "#999")}"><title>{html.escape(tip)}</title></rect>')
    axis_y = top + row * len(threads) + 14
    step = max(1, round(end / 1000 / 8))  # about eight ticks, whole milliseconds
    for ms in range(0, int(end / 1000) + 1, step):
        x = left + ms * 1000 * scale
        out.append(f'<text x="{x:.1f}" y="{axis_y}" text-anchor="middle" fill="#555">{ms} ms</text>')
    lx = left
    for name, colour in COLOURS.items():
        out.append(f'<rect x="{lx}" y="{axis_y + 12}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{axis_y + 22}">{name}</text>')
        lx += 110
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
