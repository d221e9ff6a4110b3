#!/usr/bin/env python3
"""The rustls patch series (vendor/patches): writes it from an edited tree.

    rustls_series.py regenerate PUBLISHED EDITED SERIES_DIR [--into NAME]

SERIES_DIR/series names the patches in the order they apply. Each patch is a diff of the
published crate (PUBLISHED) against the crate with that one feature, headed by a description
(the text before its first `diff --git`, which patch(1) skips): so the line numbers of every
hunk are the published crate's, and the patches apply in order with patch(1)'s offsets.

`regenerate` compares PUBLISHED with EDITED (vendor/rustls after an edit), cuts the
difference into changes (runs of lines that differ) and gives each change to the patch that
already touches those lines of the published crate. A change no patch touches goes to the
patch `--into` names; without it, or if two patches touch it, nothing is written and the
changes are listed. Each patch is then written again from the changes it owns, with its
header kept. scripts/vendor-rustls.sh checks afterwards that the series, applied in order to
the published crate, gives EDITED exactly.
"""

import difflib
import os
import re
import subprocess
import sys
import tempfile

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines(keepends=True)


def parse_patch(path):
    """(header, {file: [(start, end)]}): each hunk's lines of the published file, 0-based."""
    header, touched, current = [], {}, None
    in_body = False
    for line in read_lines(path):
        if line.startswith("diff --git "):
            in_body = True
        if not in_body:
            header.append(line)
            continue
        if line.startswith("--- "):
            name = line[4:].strip()
            current = None if name == "/dev/null" else name[2:] if name.startswith("a/") else name
        elif line.startswith("+++ ") and current is None:
            name = line[4:].strip()
            current = name[2:] if name.startswith("b/") else name
        m = HUNK.match(line)
        if m and current is not None:
            start = int(m.group(1))
            length = int(m.group(2)) if m.group(2) is not None else 1
            first = start - 1 if length > 0 else start
            touched.setdefault(current, []).append((first, first + length))
    return "".join(header), touched


def changed_files(published, edited):
    """Paths (relative) whose contents differ between the two trees, sorted."""
    names = set()
    for root in (published, edited):
        for d, _, files in os.walk(root):
            for f in files:
                names.add(os.path.relpath(os.path.join(d, f), root))
    out = []
    for name in sorted(names):
        if read_lines(os.path.join(published, name)) != read_lines(os.path.join(edited, name)):
            out.append(name)
    return out


def changes(a, b):
    """The runs of lines that differ: (first, end) in `a`, and the lines that replace them."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(i1, i2, b[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def touches(hunk, change):
    (h1, h2), (c1, c2) = hunk, change
    if c1 == c2:  # an insertion before line c1
        return h1 <= c1 <= h2
    return c1 < h2 and c2 > h1


def unified(published_root, name, new_lines):
    """A git-style diff of `name` in the published tree against `new_lines`."""
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "a", name)
        b = os.path.join(tmp, "b", name)
        os.makedirs(os.path.dirname(a), exist_ok=True)
        os.makedirs(os.path.dirname(b), exist_ok=True)
        with open(a, "w", encoding="utf-8") as f:
            f.writelines(read_lines(os.path.join(published_root, name)))
        with open(b, "w", encoding="utf-8") as f:
            f.writelines(new_lines)
        diff = subprocess.run(
            ["git", "diff", "--no-index", "--no-prefix", "--src-prefix=a/", "--dst-prefix=b/", "--full-index",
             os.path.join("a", name), os.path.join("b", name)],
            cwd=tmp, capture_output=True, text=True,
        ).stdout
    diff = re.sub(r"^(diff --git |--- |\+\+\+ )a/a/", r"\1a/", diff, flags=re.M)
    diff = re.sub(r"^(diff --git .* )b/b/", r"\1b/", diff, flags=re.M)
    diff = re.sub(r"^\+\+\+ b/b/", "+++ b/", diff, flags=re.M)
    diff = re.sub(r"^index ([0-9a-f]{7})[0-9a-f]*\.\.([0-9a-f]{7})[0-9a-f]*", r"index \1..\2", diff, flags=re.M)
    return diff


def regenerate(published, edited, series_dir, into):
    with open(os.path.join(series_dir, "series"), encoding="utf-8") as f:
        names = [l.strip() for l in f if l.strip().endswith(".patch")]
    patches = {n: parse_patch(os.path.join(series_dir, n)) for n in names}
    if into is not None and into not in patches:
        sys.exit(f"rustls_series.py: --into {into}: not in {series_dir}/series")
    owned = {n: {} for n in names}
    problems = []
    for name in changed_files(published, edited):
        a = read_lines(os.path.join(published, name))
        b = read_lines(os.path.join(edited, name))
        for first, end, lines in changes(a, b):
            owners = [n for n in names if any(touches(h, (first, end)) for h in patches[n][1].get(name, []))]
            if len(owners) == 1:
                owner = owners[0]
            elif not owners and into is not None:
                owner = into
            else:
                what = "no patch touches it (name one with --into)" if not owners else f"{', '.join(owners)} all touch it"
                problems.append(f"{name}:{first + 1}: {what}")
                continue
            owned[owner].setdefault(name, []).append((first, end, lines))
    if problems:
        sys.exit("rustls_series.py: changes without one owner:\n  " + "\n  ".join(problems))
    for n in names:
        header = patches[n][0]
        body = []
        for name, edits in sorted(owned[n].items()):
            lines = read_lines(os.path.join(published, name))
            for first, end, new in sorted(edits, reverse=True):
                lines[first:end] = new
            body.append(unified(published, name, lines))
        with open(os.path.join(series_dir, n), "w", encoding="utf-8") as f:
            f.write(header + "".join(body))
        if not body:
            print(f"rustls_series.py: {n} is now empty", file=sys.stderr)


def main(argv):
    if len(argv) < 4 or argv[0] != "regenerate":
        sys.exit(__doc__)
    into = None
    if "--into" in argv:
        at = argv.index("--into")
        into = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    regenerate(argv[1], argv[2], argv[3], into)


if __name__ == "__main__":
    main(sys.argv[1:])
