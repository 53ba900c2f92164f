# hpo_promtext: a strict reader of the Prometheus text exposition format 0.0.4 for the tests:
# every line checked (HELP/TYPE once per family and before its samples, sample syntax, label
# escaping, counters ending _total, histograms with increasing le, monotone buckets, +Inf equal
# to _count, a _sum), and the samples returned for lookups.
import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)
COMMENT = re.compile(r"^# (HELP|TYPE) (%s) (.*)$" % NAME)
LABEL_PAIR = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)' % LABEL)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(Exception):
    pass


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", text):
        raise FormatError("not a value: %r" % text)
    return float(text)


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_labels(text, lineno):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        if not m:
            raise FormatError("line %d: bad labels at %r" % (lineno, text[pos:pos + 40]))
        if m.group(1) in labels:
            raise FormatError("line %d: label %s twice" % (lineno, m.group(1)))
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
        if m.group(3) == "," and pos == len(text):
            raise FormatError("line %d: trailing comma" % lineno)
    return labels


def family_of(name, types):
    """The family a sample name belongs to (histograms: name less _bucket/_sum/_count)."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) == "histogram":
            return base
    return name


class Exposition:
    """The parsed text: types {family: type}, helps, samples [(name, labels dict, value)]."""

    def __init__(self, text):
        if not text.endswith("\n"):
            raise FormatError("the text must end with a newline")
        self.types, self.helps, self.samples = {}, {}, []
        seen_series, sampled = set(), set()
        for lineno, line in enumerate(text.split("\n")[:-1], 1):
            if line.startswith("#"):
                m = COMMENT.match(line)
                if not m:
                    raise FormatError("line %d: a comment that is neither HELP nor TYPE: %r"
                                      % (lineno, line))
                kind, fam, rest = m.groups()
                table = self.helps if kind == "HELP" else self.types
                if fam in table:
                    raise FormatError("line %d: %s of %s twice" % (lineno, kind, fam))
                if fam in sampled:
                    raise FormatError("line %d: %s of %s after its samples" % (lineno, kind, fam))
                if kind == "TYPE" and rest not in TYPES:
                    raise FormatError("line %d: type %r" % (lineno, rest))
                if kind == "HELP" and re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    raise FormatError("line %d: bad escape in HELP" % lineno)
                table[fam] = rest
                continue
            m = SAMPLE.match(line)
            if not m:
                raise FormatError("line %d: not a sample: %r" % (lineno, line))
            name, label_text, value_text = m.groups()
            labels = parse_labels(label_text or "", lineno)
            value = parse_value(value_text)
            fam = family_of(name, self.types)
            if fam not in self.types or fam not in self.helps:
                raise FormatError("line %d: %s has no HELP and TYPE before it" % (lineno, name))
            if self.types[fam] == "counter" and not fam.endswith("_total"):
                raise FormatError("line %d: counter %s does not end in _total" % (lineno, fam))
            if self.types[fam] == "counter" and (value < 0 or math.isnan(value)):
                raise FormatError("line %d: counter %s is %r" % (lineno, name, value))
            key = (name, tuple(sorted(labels.items())))
            if key in seen_series:
                raise FormatError("line %d: series %s%s twice" % (lineno, name, labels))
            seen_series.add(key)
            sampled.add(fam)
            self.samples.append((name, labels, value))
        self._check_histograms()

    def _check_histograms(self):
        for fam, typ in self.types.items():
            if typ != "histogram":
                continue
            groups = {}
            for name, labels, value in self.samples:
                if family_of(name, self.types) != fam:
                    continue
                rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
                if name == fam + "_bucket":
                    if "le" not in labels:
                        raise FormatError("%s: a bucket without le" % fam)
                    g["buckets"].append((parse_value(labels["le"]), value))
                elif name == fam + "_sum":
                    g["sum"] = value
                elif name == fam + "_count":
                    g["count"] = value
                else:
                    raise FormatError("%s: sample %s is not a histogram's" % (fam, name))
            for rest, g in groups.items():
                b = g["buckets"]
                if not b or b[-1][0] != math.inf:
                    raise FormatError("%s%s: no le=\"+Inf\" bucket last" % (fam, dict(rest)))
                if any(b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
                    raise FormatError("%s%s: le not increasing" % (fam, dict(rest)))
                if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                    raise FormatError("%s%s: buckets not cumulative" % (fam, dict(rest)))
                if g["sum"] is None or g["count"] is None:
                    raise FormatError("%s%s: no _sum or _count" % (fam, dict(rest)))
                if b[-1][1] != g["count"]:
                    raise FormatError("%s%s: +Inf bucket %r != _count %r"
                                      % (fam, dict(rest), b[-1][1], g["count"]))

    def get(self, name, **labels):
        """The value of the one sample name{labels...} (labels given must match; others any);
        None when there is none; FormatError when several match."""
        found = [v for n, lab, v in self.samples
                 if n == name and all(lab.get(k) == str(w) for k, w in labels.items())]
        if len(found) > 1:
            raise FormatError("%s%s matches %d samples" % (name, labels, len(found)))
        return found[0] if found else None

    def value(self, name, **labels):
        """get(), with 0 for a series not written yet (request counters appear on first use)."""
        v = self.get(name, **labels)
        return 0.0 if v is None else v

    def names(self):
        return {n for n, _, _ in self.samples}
