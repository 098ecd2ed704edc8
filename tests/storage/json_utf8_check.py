"""json_utf8_check.py FILE [NEEDLE...] - FILE (the stdout of `pure inspect
--json`) must be valid UTF-8 (strict: no surrogates, no overlong forms) and
one valid JSON document; each NEEDLE must occur in one of its strings (keys or
values, anywhere in the tree). Exit 0 when so, 1 with the reason otherwise."""
import json
import sys


def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, list):
        for v in x:
            yield from strings(v)
    elif isinstance(x, dict):
        for k, v in x.items():
            yield k
            yield from strings(v)


def main(path, needles):
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")  # strict, unlike json.loads(bytes), which passes surrogates
    except UnicodeDecodeError as e:
        print(f"{path}: not valid UTF-8: {e}")
        return 1
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        print(f"{path}: not valid JSON: {e}")
        return 1
    found = list(strings(doc))
    for n in needles:
        if not any(n in s for s in found):
            print(f"{path}: no string contains {n!r}; strings: {found!r}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
