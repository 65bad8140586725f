#!/usr/bin/env python3
"""Precision and recall of the NDcPP rules per SFR reference, on the corpus of
real-world phrasing (tests/ndcpp/*.tsv: corpus.tsv and the later batches, each
a file): each line goes through `trailkeep classify` (the collector's parser
and rules), and its refs are compared with the expected ones.

  python3 tests/ndcpp/score_corpus.py [--bin DIR] [--rules FILE] [--corpus FILE]... [--check]

prints, per batch file and for all of them together, the markdown table of
docs/ndcpp.md (one row per ref, then "all refs": the counts summed over refs)
and the lines that disagree (on stderr). --corpus selects batch files (default:
every *.tsv here). --check exits 1 when a ref of the whole selection falls
below MIN_PRECISION / MIN_RECALL (the ctest ndcpp_corpus_test runs it so).
"""
import argparse
import collections
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MIN_PRECISION = 1.0  # a false positive is a wrong claim of evidence
MIN_RECALL = 0.9


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            refs, text = line.rstrip("\n").split("\t", 1)
            rows.append((n, set() if refs == "-" else set(refs.split(",")), text))
    return rows


def classify(binary, rules, lines):
    args = [os.path.join(binary, "trailkeep"), "classify", "--format", "json"]
    if rules:
        args += ["--rules", rules]
    out = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True,
                         check=True).stdout
    events = [json.loads(l) for l in out.splitlines()]
    assert len(events) == len(lines), "one event per corpus line (%d != %d)" % (len(events), len(lines))
    return [set(e["refs"]) for e in events]


def score(rows, got):
    tp, fp, fn = collections.Counter(), collections.Counter(), collections.Counter()
    wrong = []
    for (n, want, text), have in zip(rows, got):
        for r in have & want:
            tp[r] += 1
        for r in have - want:
            fp[r] += 1
        for r in want - have:
            fn[r] += 1
        if have != want:
            wrong.append((n, sorted(want), sorted(have), text))
    return tp, fp, fn, wrong


def ratio(num, den):
    return num / den if den else 1.0


def table(title, rows, tp, fp, fn):
    """Prints one markdown table; returns the refs below the thresholds."""
    negatives = sum(1 for _, want, _ in rows if not want)
    print("%s: %d lines (%d that must not be classified)\n" % (title, len(rows), negatives))
    print("| ref | lines expected | TP | FP | FN | precision | recall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    bad = []
    for r in sorted(set(tp) | set(fp) | set(fn)):
        p, rc = ratio(tp[r], tp[r] + fp[r]), ratio(tp[r], tp[r] + fn[r])
        print("| %s | %d | %d | %d | %d | %.2f | %.2f |" % (r, tp[r] + fn[r], tp[r], fp[r], fn[r], p, rc))
        if p < MIN_PRECISION or rc < MIN_RECALL:
            bad.append(r)
    t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print("| all refs | %d | %d | %d | %d | %.2f | %.2f |\n" % (t + n, t, f, n, ratio(t, t + f), ratio(t, t + n)))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("TRAILKEEP_BIN", os.path.join(ROOT, "build", "bin")))
    ap.add_argument("--rules", default="")
    ap.add_argument("--corpus", action="append", default=[],
                    help="a batch file (repeatable; default: every tests/ndcpp/*.tsv)")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    files = a.corpus or sorted(glob.glob(os.path.join(HERE, "*.tsv")))
    total = [collections.Counter(), collections.Counter(), collections.Counter()]
    all_rows, all_wrong = [], []
    for path in files:
        rows = load(path)
        tp, fp, fn, wrong = score(rows, classify(a.bin, a.rules, [t for _, _, t in rows]))
        if len(files) > 1:
            table(os.path.basename(path), rows, tp, fp, fn)
        for acc, c in zip(total, (tp, fp, fn)):
            acc.update(c)
        all_rows += rows
        all_wrong += [(os.path.basename(path),) + w for w in wrong]
    bad = table("all batches" if len(files) > 1 else os.path.basename(files[0]), all_rows, *total)
    for name, n, want, have, text in all_wrong:
        print("\n%s:%d expected %s got %s\n  %s" % (name, n, want or "-", have or "-", text),
              file=sys.stderr)
    if a.check and bad:
        print("\nbelow precision %.2f / recall %.2f: %s" % (MIN_PRECISION, MIN_RECALL, ", ".join(bad)),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
