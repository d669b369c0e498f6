"""A reader of the PanCareSurPass IG's FHIR Shorthand and a checker of resources against it,
written for the tests and sharing nothing with the exporter (``service.exports.pcsp*``).

What it checks, for a profile and a resource (and the Bundle the resource sits in):
- cardinalities (``* path 1..``, ``..0``, ``2..2``), with the profile's rule sets inserted
  (parameters substituted) and indented paths expanded;
- slices declared with ``contains`` and a minimum of one or more, a member being told by the
  slice's extension URL, by the fixed values the slice's own rules set (its pattern), or by the
  profile its ``only Reference(...)`` / ``resource only`` rule names;
- fixed values (``* path = $system#code``, ``#code (exactly)``, a URI), as patterns;
- required bindings (``from VS`` with no strength or ``(required)``), against value sets
  expanded from the FSH (enumerated codes, whole code systems with their FSH code list when the
  FSH defines it completely, other value sets included); value sets the FSH does not define are
  in ``EXTERNAL_VALUE_SETS`` (transcribed, with their source) or reported as unchecked;
- ``only Reference(Profile)``: a reference that resolves in the Bundle must reach a resource
  declaring one of the named profiles (or of the named base types).
Invariants (FHIRPath) and bindings of optional coding slices are not evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IG = "http://hl7.eu/fhir/ig/pcsp"
SD = f"{IG}/StructureDefinition/"
_KEYWORDS = (
    "Profile", "Extension", "ValueSet", "CodeSystem", "RuleSet", "Instance", "Invariant",
    "Logical", "Alias", "Mapping",
)  # fmt: skip
# LOINC answer lists the IG binds without defining them (source: LOINC, loinc.org/LL2419-1/
# and loinc.org/LL360-9/); codes as LOINC publishes them.
EXTERNAL_VALUE_SETS = {
    "http://loinc.org/vs/LL2419-1": {
        ("http://loinc.org", c) for c in ("LA19710-5", "LA19709-7", "LA28449-9", "LA19708-9")
    },
    "http://loinc.org/vs/LL360-9": {("http://loinc.org", c) for c in ("LA6576-8", "LA6577-6")},
}


@dataclass
class Rule:
    path: str
    kind: str  # card | contains | fixed | from | only
    value: Any


@dataclass
class Block:
    keyword: str
    name: str
    params: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    lines: list[tuple[int, str]] = field(default_factory=list)  # (indent, text after "* ")


@dataclass
class ValueSetDef:
    codes: set[tuple[str, str]] = field(default_factory=set)
    systems: set[str] = field(default_factory=set)
    includes: list[str] = field(default_factory=list)


class Fsh:
    """Everything read from ``input/fsh``: aliases, profiles, extensions, value sets, codes."""

    def __init__(self, root: Path):
        self.aliases: dict[str, str] = {}
        self.blocks: dict[tuple[str, str], Block] = {}
        for path in sorted(root.rglob("*.fsh")):
            self._read(path.read_text(encoding="utf-8"))
        self.profiles = {n: b for (k, n), b in self.blocks.items() if k == "Profile"}
        self.profile_urls = {SD + b.meta["Id"]: n for n, b in self.profiles.items()}
        self.code_systems: dict[str, set[str] | None] = {}  # url -> codes (None: fragment)
        self.cs_names: dict[str, str] = {}
        self._code_systems()
        self.value_sets: dict[str, ValueSetDef] = {}
        self._value_sets()
        self._rules: dict[str, list[Rule]] = {}

    # --- reading ---------------------------------------------------------------------------

    def _read(self, text: str) -> None:
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        block: Block | None = None
        for raw in text.splitlines():
            line = re.sub(r"(^|\s)//.*$", "", raw).rstrip()
            if not line.strip():
                continue
            head = re.match(r"^(\w+)\s*:\s*(.*)$", line.strip())
            if head and head.group(1) in _KEYWORDS:
                keyword, rest = head.groups()
                if keyword == "Alias":
                    name, url = (s.strip() for s in rest.split("=", 1))
                    self.aliases[name] = url
                    continue
                m = re.match(r"([\w.-]+)\s*(?:\((.*)\))?", rest)
                assert m, line
                params = [p.strip() for p in (m.group(2) or "").split(",") if p.strip()]
                block = Block(keyword, m.group(1), params)
                self.blocks[(keyword, block.name)] = block
            elif block is not None and re.match(
                r"^(Id|Parent|Title|InstanceOf|Usage)\s*:", line.strip()
            ):
                key, value = line.strip().split(":", 1)
                block.meta[key.strip()] = value.strip().strip('"')
            elif block is not None and line.lstrip().startswith("*"):
                indent = len(line) - len(line.lstrip())
                block.lines.append((indent, line.lstrip()[1:].strip()))
            elif block is not None and block.lines:  # a rule continued on the next line
                indent, prev = block.lines[-1]
                block.lines[-1] = (indent, f"{prev} {line.strip()}")

    def resolve(self, token: str) -> str:
        """An alias, a code system or value set name, or an extension/profile name -> URL."""
        token = token.strip()
        if token in self.aliases:
            return self.aliases[token]
        if token in self.cs_names:
            return self.cs_names[token]
        for kind in ("ValueSet", "Extension", "Profile"):
            block = self.blocks.get((kind, token))
            if block:
                base = {"ValueSet": f"{IG}/ValueSet/", "Extension": SD, "Profile": SD}[kind]
                return base + block.meta.get("Id", token)
        return token

    def _code_systems(self) -> None:
        for (kind, name), b in self.blocks.items():
            if kind == "CodeSystem":
                url = next(
                    (_unquote(t.split("=", 1)[1]) for _, t in b.lines if t.startswith("^url")),
                    f"{IG}/CodeSystem/{b.meta.get('Id', name)}",
                )
                fragment = any("#fragment" in t for _, t in b.lines)
                codes = {m.group(1) for _, t in b.lines if (m := re.match(r"^#(\S+)", t))}
                self.code_systems[url] = None if fragment else codes
                self.cs_names[name] = url
            elif kind == "Instance" and b.meta.get("InstanceOf") == "CodeSystem":
                url = next(_unquote(t.split("=", 1)[1]) for _, t in b.lines if t.startswith("url"))
                codes = {m.group(1) for _, t in b.lines if (m := re.search(r"\.code = #(\S+)", t))}
                self.code_systems[url] = codes

    def _value_sets(self) -> None:
        for (kind, name), b in self.blocks.items():
            if kind != "ValueSet":
                continue
            vs = ValueSetDef()
            for _, text in b.lines:
                if text.startswith("^") or text.startswith("exclude"):
                    continue
                if m := re.match(r"^(?:include )?codes from valueset (\S+)", text):
                    vs.includes.append(self.resolve(m.group(1)))
                elif m := re.match(r"^(?:include )?codes from system (\S+)", text):
                    vs.systems.add(self.resolve(m.group(1)))
                elif m := re.match(r"^(?:include )?(\S+)#(\S+)", text):
                    vs.codes.add((self.resolve(m.group(1)), m.group(2)))
            self.value_sets[self.resolve(name)] = vs

    # --- value sets ----------------------------------------------------------------------

    def in_value_set(self, url: str, system: str | None, code: str | None) -> bool | None:
        """True or False, or None when the value set is neither in the FSH nor transcribed."""
        if url in EXTERNAL_VALUE_SETS:
            return (system, code) in EXTERNAL_VALUE_SETS[url]
        vs = self.value_sets.get(url)
        if vs is None:
            return None
        if (system, code) in vs.codes:
            return True
        if system in vs.systems:
            known = self.code_systems.get(system)
            return known is None or code in known
        return any(self.in_value_set(inc, system, code) for inc in vs.includes)

    # --- rules ----------------------------------------------------------------------------

    def rules(self, profile: str) -> list[Rule]:
        if profile not in self._rules:
            self._rules[profile] = self._expand(self.profiles[profile].lines, "", {})
        return self._rules[profile]

    def _expand(self, lines: list[tuple[int, str]], prefix: str, args: dict[str, str]):
        rules: list[Rule] = []
        stack: list[tuple[int, str]] = []  # (indent, path) of enclosing rules
        for indent, text in lines:
            for key, value in args.items():
                text = text.replace("{" + key + "}", value)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            context = stack[-1][1] if stack else prefix
            if text.startswith("insert "):
                m = re.match(r"insert (\w+)\s*(?:\((.*)\))?\s*$", text)
                assert m, text
                rs = self.blocks[("RuleSet", m.group(1))]
                values = [
                    v.replace("\\,", ",").replace("\\)", ")").strip()
                    for v in re.split(r"(?<!\\),", m.group(2) or "")
                ]
                rules += self._expand(rs.lines, context, dict(zip(rs.params, values, strict=False)))
                continue
            if text.startswith("^") or text.startswith("obeys"):
                continue
            path, _, rest = text.partition(" ")
            full = path if not context else (context if path == "." else f"{context}.{path}")
            stack.append((indent, full))
            rest = rest.strip()
            if not rest or rest.startswith("^") or rest.startswith("obeys"):
                continue
            rules.append(self._rule(full, rest))
        return [r for r in rules if r is not None]

    def _rule(self, path: str, rest: str) -> Rule | None:
        if m := re.match(r"^(\d*)\.\.(\d+|\*)?", rest):
            low, high = m.groups()
            return Rule(path, "card", (int(low or 0), None if high in (None, "*") else int(high)))
        if rest.startswith("contains "):
            slices = []
            for item in re.split(r"\s+and\s+", rest[len("contains ") :]):
                m = re.match(r"(\S+)(?:\s+named\s+(\S+))?\s+(\d+)\.\.(\d+|\*)?", item.strip())
                if m:
                    kind, name, low, high = m.groups()
                    url = self.resolve(kind) if name else None
                    slices.append((name or kind, url, int(low)))
            return Rule(path, "contains", slices)
        if rest.startswith("= "):
            return Rule(path, "fixed", self._fixed(rest[2:]))
        if m := re.match(r"^from (\S+)\s*(?:\((\w+)\))?", rest):
            strength = m.group(2) or "required"
            return Rule(path, "from", self.resolve(m.group(1))) if strength == "required" else None
        if m := re.match(r"^only (?:Reference\s*)?\((.*)\)\s*$", rest) or re.match(
            r"^only (.*)$", rest
        ):
            names = [n.strip() for n in re.split(r"\s+or\s+", m.group(1))]
            return Rule(path, "only", names)
        return None

    def _fixed(self, text: str) -> tuple[str | None, str] | str:
        text = re.sub(r"\s*\(exactly\)\s*$", "", text.strip())
        if m := re.match(r"^(\S*)#(\S+)", text):
            return (self.resolve(m.group(1)) if m.group(1) else None, m.group(2))
        return self.resolve(_unquote(text))


def _unquote(text: str) -> str:
    return text.strip().strip('"')


class Undecidable(Exception):
    """A slice whose members the FSH gives no way to tell apart (no URL, pattern or profile)."""


class Checker:
    """Checks resources of one Bundle against the FSH profiles they claim."""

    def __init__(self, fsh: Fsh, bundle: dict[str, Any]):
        self.fsh = fsh
        self.by_url = {e["fullUrl"]: e["resource"] for e in bundle.get("entry", [])}
        self.unchecked: set[str] = set()

    def check(self, resource: dict[str, Any], profile: str) -> list[str]:
        rules = self.fsh.rules(profile)
        problems: list[str] = []
        for rule in rules:
            try:
                problems += getattr(self, f"_{rule.kind}")(resource, rule, rules)
            except Undecidable as exc:
                self.unchecked.add(f"{profile}: slice {exc}")
        where = f"{resource.get('resourceType')}/{resource.get('id')}"
        return [f"{profile} {where}: {p}" for p in problems]

    # --- navigation ------------------------------------------------------------------------

    def values(self, nodes: list[Any], path: str, rules: list[Rule], prefix: str = "") -> list:
        for seg in [s for s in path.split(".") if s]:
            m = re.match(r"^([^\[]+)(?:\[([^\]]+)\])?$", seg)
            assert m, seg
            name, slice_name = m.groups()
            here = f"{prefix}.{name}" if prefix else name
            found: list[Any] = []
            for node in nodes:
                if not isinstance(node, dict):
                    continue
                if slice_name == "x":
                    items = [
                        v
                        for k, v in node.items()
                        if k.startswith(name) and k[len(name) :][:1].isupper()
                    ]
                else:
                    items = [node[name]] if name in node else []
                found += [x for v in items for x in (v if isinstance(v, list) else [v])]
            if slice_name and slice_name != "x":
                found = [x for x in found if self._member(x, here, slice_name, rules)]
            nodes, prefix = found, here + (f"[{slice_name}]" if slice_name else "")
        return nodes

    def _member(self, item: Any, path: str, name: str, rules: list[Rule]) -> bool:
        sliced = f"{path}[{name}]"
        for rule in rules:
            if rule.kind == "contains" and rule.path == path:
                for slice_name, url, _ in rule.value:
                    if slice_name == name and url:
                        return isinstance(item, dict) and item.get("url") == url
        patterns = [
            (r.path[len(sliced) :].lstrip("."), r.value)
            for r in rules
            if r.kind == "fixed"
            and (r.path == sliced or r.path.startswith(sliced + "."))
            and "[" not in r.path[len(sliced) :].replace("[x]", "")
        ]
        if patterns:
            return all(
                any(matches(v, value) for v in (self.values([item], sub, []) if sub else [item]))
                for sub, value in patterns
            )
        for rule in rules:
            if rule.kind == "from" and rule.path == sliced and isinstance(item, dict):
                return bool(self.fsh.in_value_set(rule.value, item.get("system"), item.get("code")))
            if rule.kind == "only" and rule.path in (sliced, f"{sliced}.resource"):
                target = (
                    item.get("resource")
                    if isinstance(item, dict) and "resource" in item
                    else self._target(item)
                )
                return target is not None and self._is(target, rule.value)
        raise Undecidable(sliced)

    def _target(self, item: Any) -> dict[str, Any] | None:
        if isinstance(item, dict) and "reference" in item:
            return self.by_url.get(item["reference"])
        if isinstance(item, dict) and "resourceType" in item:
            return item
        return None

    def _is(self, resource: dict[str, Any], names: list[str]) -> bool:
        claimed = resource.get("meta", {}).get("profile", [])
        for name in names:
            if name in self.fsh.profiles and self.fsh.resolve(name) in claimed:
                return True
            if name not in self.fsh.profiles and name in (resource["resourceType"], "Resource"):
                return True
        return False

    # --- rules -----------------------------------------------------------------------------

    def _parents(self, resource: dict[str, Any], path: str, rules: list[Rule]):
        parent, _, last = path.rpartition(".")
        return (self.values([resource], parent, rules) if parent else [resource]), parent, last

    def _card(self, resource: dict[str, Any], rule: Rule, rules: list[Rule]) -> list[str]:
        if rule.path == ".":
            return []
        low, high = rule.value
        parents, parent, last = self._parents(resource, rule.path, rules)
        problems = []
        for node in parents:
            n = len(self.values([node], last, rules, parent))
            if n < low or (high is not None and n > high):
                problems.append(
                    f"{rule.path}: {n} found, {low}..{'*' if high is None else high} required"
                )
        return problems

    def _contains(self, resource: dict[str, Any], rule: Rule, rules: list[Rule]) -> list[str]:
        problems = []
        for name, _, low in rule.value:
            if low:
                problems += self._card(
                    resource, Rule(f"{rule.path}[{name}]", "card", (low, None)), rules
                )
        return problems

    def _fixed(self, resource: dict[str, Any], rule: Rule, rules: list[Rule]) -> list[str]:
        return [
            f"{rule.path}: {value!r} is not {rule.value!r}"
            for value in self.values([resource], rule.path, rules)
            if not matches(value, rule.value)
        ]

    def _from(self, resource: dict[str, Any], rule: Rule, rules: list[Rule]) -> list[str]:
        problems = []
        parents, parent, last = self._parents(resource, rule.path, rules)
        for node in parents:
            for value in self.values([node], last, rules, parent):
                if isinstance(value, str):
                    codings = [{"system": node.get("system"), "code": value}]
                elif isinstance(value, dict) and "coding" in value or "text" in value:
                    codings = value.get("coding", [])
                else:
                    codings = [value]
                verdicts = [
                    self.fsh.in_value_set(rule.value, c.get("system"), c.get("code"))
                    for c in codings
                ]
                if None in verdicts:
                    self.unchecked.add(
                        f"binding {rule.path} to {rule.value} (value set not in the FSH)"
                    )
                elif not any(verdicts):
                    problems.append(f"{rule.path}: {value!r} has no code from {rule.value}")
        return problems

    def _only(self, resource: dict[str, Any], rule: Rule, rules: list[Rule]) -> list[str]:
        problems = []
        for value in self.values([resource], rule.path, rules):
            target = self._target(value)
            if target is not None and not self._is(target, rule.value):
                problems.append(
                    f"{rule.path}: {value.get('reference', target.get('id'))} is not {rule.value}"
                )
        return problems


def matches(value: Any, fixed: Any) -> bool:
    """Whether ``value`` has the fixed value as a pattern (a coding among its codings)."""
    if isinstance(fixed, tuple):
        system, code = fixed
        if isinstance(value, dict):
            codings = value.get("coding", [value])
            return any(c.get("code") == code and system in (None, c.get("system")) for c in codings)
        return value == code
    return value == fixed
