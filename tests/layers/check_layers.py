#!/usr/bin/env python3
"""Holds the sources to the layers table (cmake/layers.txt).

Fails (exit 1, one line per offence) when
  - a file includes a header of a folder its own folder may not include,
  - a target links a target of a folder its own folder may not include
    (with --links, the file CMake writes at configure time),
  - the table has a cycle, names an unknown folder, or a folder of sources
    under agent/, common/ or server/ has no row.

The table's rows are "folder targets may-include..."; a folder may include
its own headers, those of the folders it names, and, recursively, what they
may include. Standard library only.
"""

import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".cc", ".h", ".inc")
# Folders whose sources must each belong to a row.
ROOTS = ("agent", "common", "server", "tests")
# Generated protobuf headers: "trailkeep/v1/x.pb.h" is folder "proto".
PROTO_PREFIX = "trailkeep/"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


class TableError(Exception):
    pass


def read_table(path):
    """Returns {folder: (targets, named folders or ["*"])}, in table order."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            cols = line.split()
            if len(cols) < 3:
                raise TableError(f"{path}:{number}: expected 'folder targets may-include...'")
            folder, targets, named = cols[0], cols[1], cols[2:]
            if folder in rows:
                raise TableError(f"{path}:{number}: {folder} has two rows")
            rows[folder] = ([] if targets == "-" else targets.split(","),
                            [] if named == ["-"] else named)
    for folder, (_, named) in rows.items():
        for n in named:
            if n != "*" and n not in rows:
                raise TableError(f"{path}: {folder} names {n}, which has no row")
    return rows


def closure(rows):
    """{folder: set of folders it may include}; raises TableError on a cycle."""
    done, active = {}, []

    def visit(folder):
        if folder in done:
            return done[folder]
        if folder in active:
            cycle = active[active.index(folder):] + [folder]
            raise TableError("cmake/layers.txt has a cycle: " + " -> ".join(cycle))
        active.append(folder)
        allowed = set()
        for n in rows[folder][1]:
            allowed |= {"*"} if n == "*" else {n} | visit(n)
        active.pop()
        done[folder] = allowed
        return allowed

    for folder in rows:
        visit(folder)
    return done


def folder_of(path, rows):
    """The row a repository path (or include path) falls in: longest prefix."""
    best = None
    for folder in rows:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def include_folder(include, rows):
    if "/" not in include:
        return None  # beside the including file
    if include.startswith(PROTO_PREFIX) and "proto" in rows:
        return "proto"
    return folder_of(include, rows)


def may(allowed, src, dst):
    return dst == src or "*" in allowed[src] or dst in allowed[src]


def check_includes(root, rows, allowed):
    problems = []
    for top in ROOTS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                src = folder_of(path, rows)
                if src is None:
                    problems.append(f"{path}: its folder has no row in cmake/layers.txt")
                    continue
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE_RE.match(line)
                        if not m:
                            continue
                        dst = include_folder(m.group(1), rows)
                        if dst is None:
                            if "/" in m.group(1) and m.group(1).split("/")[0] in ROOTS:
                                problems.append(f"{path}:{number}: includes {m.group(1)}, "
                                                "whose folder has no row in cmake/layers.txt")
                            continue
                        if not may(allowed, src, dst):
                            problems.append(f"{path}:{number}: includes {m.group(1)}: "
                                            f"{src} may not include {dst} (cmake/layers.txt)")
    return problems


def check_links(links_path, rows, allowed):
    folder_of_target = {t: folder for folder, (targets, _) in rows.items() for t in targets}
    problems = []
    with open(links_path, encoding="utf-8") as f:
        for line in f:
            target, _, deps = line.rstrip("\n").partition("\t")
            src = folder_of_target.get(target)
            if src is None:
                continue
            for dep in filter(None, deps.split(";")):
                dst = folder_of_target.get(dep)
                if dst is not None and not may(allowed, src, dst):
                    problems.append(f"{target} links {dep}: {src} may not include {dst} "
                                    "(cmake/layers.txt)")
    return problems


def run(root, table, links=None):
    """The offences found, as lines; empty when the tree follows the table."""
    try:
        rows = read_table(table)
        allowed = closure(rows)
    except TableError as e:
        return [str(e)]
    problems = check_includes(root, rows, allowed)
    if links:
        problems += check_links(links, rows, allowed)
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(here)),
                        help="repository root (default: this script's)")
    parser.add_argument("--table", help="layers table (default: ROOT/cmake/layers.txt)")
    parser.add_argument("--links", help="layers_links.tsv of a configured build")
    args = parser.parse_args()
    table = args.table or os.path.join(args.root, "cmake", "layers.txt")
    problems = run(args.root, table, args.links)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} offence(s) against {table}", file=sys.stderr)
        return 1
    print("layers: every include and link follows " + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
