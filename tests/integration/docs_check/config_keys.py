"""Config keys: the ones docs/configuration.md names and the ones the loader accepts.

The loader (common/config*.cpp) lists the keys each YAML map may hold: the
brace lists passed to `map_reader`, the named key tables (`top_level_keys`,
`check_keys`, `step_common_keys`) and the plan step kinds' `{"key", ptype::...}`
table. Unknown keys are refused there, so these lists are the authority.
"""

import glob
import os
import re

DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\[\])?(\.[a-z_][a-z0-9_]*(\[\])?)+$")
BACKTICK = re.compile(r"`([^`\n]+)`")
STRING = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"')
NOT_KEYS = re.compile(r"\.(md|ya?ml|json|jsonl|py|sh|key|pub|cpp|hpp|txt|html|internal|com|io)$")


def loader_sources(root):
    return sorted(glob.glob(os.path.join(root, "common", "config*.cpp")))


def _call_text(src, start):
    """The text of a call from `start` (at its opening parenthesis) to the matching parenthesis."""
    depth = 0
    for i in range(start, len(src)):
        if src[i] == "(":
            depth += 1
        elif src[i] == ")":
            depth -= 1
            if depth == 0:
                return src[start:i + 1]
    return src[start:]


def _strip_comments(src):
    return re.sub(r"//[^\n]*", "", src)


def loader_keys(root):
    """Every key name the loader accepts, with the file that lists it."""
    keys = {}
    for path in loader_sources(root):
        src = _strip_comments(open(path, encoding="utf-8").read())
        found = set()
        for m in re.finditer(r"\bmap_reader\s+\w+\s*\(", src):
            call = _call_text(src, m.end() - 1)
            for group in re.findall(r"\{([^{}]*)\}", call):
                found.update(STRING.findall(group))
        for m in re.finditer(r"\b(top_level_keys\(\)\s*\{[^;]*?keys|check_keys|step_common_keys)\s*\{([^}]*)\}", src):
            found.update(STRING.findall(m.group(2)))
        found.update(re.findall(r'\{"([a-z_][a-z0-9_]*)",\s*ptype::', src))
        for k in found:
            keys.setdefault(k, os.path.relpath(path, root))
    return keys


def loader_literals(root):
    """Every identifier-like string literal in common/config*.cpp."""
    out = set()
    for path in loader_sources(root):
        out.update(STRING.findall(_strip_comments(open(path, encoding="utf-8").read())))
    return out


def documented_paths(doc_text):
    """Backticked dotted key paths in the doc (`decision.fall`, `services[].checks[].http.url`)."""
    out = set()
    for tok in BACKTICK.findall(doc_text):
        tok = tok.strip()
        if DOTTED.match(tok) and not NOT_KEYS.search(tok):
            out.add(tok)
    return out


def documented_names(doc_text):
    """The last component of every backticked key-like token, dotted or not (`deployment`, `decision.fall`)."""
    out = set()
    for tok in BACKTICK.findall(doc_text):
        tok = tok.strip().rstrip(":")
        if re.match(r"^[a-z_][a-z0-9_]*(\[\])?(\.[a-z_][a-z0-9_]*(\[\])?)*$", tok):
            out.add(last_component(tok))
    return out


def last_component(path):
    return path.split(".")[-1].replace("[]", "")
