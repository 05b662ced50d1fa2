"""The import graph of the pgproofs package: cycles, layer violations, private names.

    python scripts/import_graph.py [--package pgproofs] [--json]

Reads every module of the package with the standard library's ``ast`` (nothing
is imported or executed) and prints

* the graph: each module and the package modules it imports, deferred ones
  (inside a function, e.g. to keep torch out of ``import pgproofs``) marked
  with ``*``; a deferred import is still a dependency, so it counts everywhere;
* cycles: the strongly connected components of the graph (Tarjan), each with
  one concrete circle through it;
* layer violations: an import from a lower layer into a higher one (LAYERS
  below; the README's Development section explains them);
* private names: ``from a import _x`` or ``a._x`` where ``a`` is another module
  of the package (dunders such as ``__version__`` are public);
* modules that no layer claims, so that a new module gets a place on purpose.

Exit status: 1 when there is a cycle, 0 otherwise (violations and private
names are reported; ``--strict`` makes them fail too).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lower layers never import higher ones. Names are the first component below the
# package (a module or a subpackage); "" is the package's own __init__ (its
# public facade). Modules of one layer may import each other, without cycles.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("claims", "evidence", "sweep", "wording", "verdict")),  # nothing of the model
    ("model", ("mdp", "policy", "returns", "episodic", "rollouts", "gym_env")),
    ("engines", ("exact", "discounted", "moments", "variance", "importance", "natural",
                 "montecarlo", "estimators", "advantages", "symbolic")),
    ("checks", ("check", "advantage_checks", "mc_advantages", "loss_target", "loss_checks",
                "mc_loss", "policy_losses", "surrogate", "testing", "loss_testing", "targets",
                "verify", "loss_verify", "bugs", "loss_bugs", "strategies",
                "surveys")),
    ("applications", ("cartpole", "report", "cli", "pytest_plugin", "__main__", "")),
]


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package."""
    base = package_dir.parent
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(name: str, modules: dict) -> str | None:
    """The longest prefix of a dotted name that is a module of the package."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        candidate = ".".join(parts[:k])
        if candidate in modules:
            return candidate
    return None


class _Imports(ast.NodeVisitor):
    """Collects (target, deferred, line) edges and private-name uses of one module."""

    def __init__(self, module: str, is_package: bool, modules: dict):
        self.module, self.is_package, self.modules = module, is_package, modules
        self.edges: list[tuple[str, bool, int]] = []
        self.private: list[tuple[str, str, int]] = []
        self.aliases: dict[str, str] = {}   # local name -> package module it is bound to
        self.depth = 0

    def _scope(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scope

    def _add(self, target: str, line: int) -> None:
        if target != self.module:
            self.edges.append((target, self.depth > 0, line))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = _resolve(alias.name, self.modules)
            if target is None:
                continue
            self._add(target, node.lineno)
            if alias.asname:
                self.aliases[alias.asname] = target

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            here = self.module.split(".")
            base = here if self.is_package else here[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        source_mod = _resolve(source, self.modules)
        if source_mod is None:
            return
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            if sub in self.modules:                 # "from pgproofs import check"
                self._add(sub, node.lineno)
                self.aliases[alias.asname or alias.name] = sub
            else:                                   # a name defined in source_mod
                self._add(source_mod, node.lineno)
                if _is_private(alias.name) and source_mod != self.module:
                    self.private.append((source_mod, alias.name, node.lineno))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (isinstance(node.value, ast.Name) and node.value.id in self.aliases
                and _is_private(node.attr) and self.aliases[node.value.id] != self.module):
            self.private.append((self.aliases[node.value.id], node.attr, node.lineno))
        self.generic_visit(node)


def layer_of(module: str, package: str) -> int | None:
    rest = module[len(package):].lstrip(".")
    head = rest.split(".")[0] if rest else ""
    for i, (_, names) in enumerate(LAYERS):
        if head in names:
            return i
    return None


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a self-loop)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def a_circle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One concrete circle through the component's first module (breadth-first)."""
    start, members = component[0], set(component)
    parent, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return path[::-1] + [start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start, start]


def analyse(package_dir: Path) -> dict:
    """The graph, its cycles, layer violations, private-name imports and unlayered modules."""
    package = package_dir.name
    modules = module_files(package_dir)
    edges: dict[str, dict[str, bool]] = {}     # module -> {target: deferred only}
    private = []
    for module, path in modules.items():
        visitor = _Imports(module, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        targets: dict[str, bool] = {}
        for target, deferred, _ in visitor.edges:
            targets[target] = targets.get(target, True) and deferred
        edges[module] = targets
        private += [{"module": module, "from": src, "name": name, "line": line}
                    for src, name, line in visitor.private]
    graph = {m: set(t) for m, t in edges.items()}
    cycles = [{"modules": comp, "circle": a_circle(comp, graph)}
              for comp in strongly_connected(graph)]
    violations, unlayered = [], []
    for module in modules:
        lm = layer_of(module, package)
        if lm is None:
            unlayered.append(module)
            continue
        for target in sorted(edges[module]):
            lt = layer_of(target, package)
            if lt is not None and lt > lm:
                violations.append({"module": module, "layer": LAYERS[lm][0],
                                   "imports": target, "of_layer": LAYERS[lt][0],
                                   "deferred": edges[module][target]})
    return {"package": package, "layers": [{"name": n, "modules": list(m)} for n, m in LAYERS],
            "graph": {m: {t: ("deferred" if d else "top") for t, d in sorted(edges[m].items())}
                      for m in sorted(edges)},
            "cycles": cycles, "layer_violations": violations,
            "private_imports": private, "unlayered": sorted(unlayered)}


def print_report(result: dict) -> None:
    print(f"import graph of {result['package']} (* = deferred, inside a function)")
    for module, targets in result["graph"].items():
        deps = ", ".join(t + ("*" if how == "deferred" else "") for t, how in targets.items())
        print(f"  {module} -> {deps or '(nothing of the package)'}")
    print(f"\ncycles: {len(result['cycles'])}")
    for c in result["cycles"]:
        print(f"  {' -> '.join(c['circle'])}   (component: {', '.join(c['modules'])})")
    print(f"layer violations (lower layer imports higher): {len(result['layer_violations'])}")
    for v in result["layer_violations"]:
        print(f"  {v['module']} ({v['layer']}) imports {v['imports']} ({v['of_layer']})"
              + (" [deferred]" if v["deferred"] else ""))
    print(f"private names imported across modules: {len(result['private_imports'])}")
    for p in result["private_imports"]:
        print(f"  {p['module']}:{p['line']} uses {p['from']}.{p['name']}")
    if result["unlayered"]:
        print(f"modules in no layer (add them to LAYERS): {', '.join(result['unlayered'])}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", type=Path, default=ROOT / "pgproofs",
                    help="the package directory (default: pgproofs/ beside scripts/)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--strict", action="store_true",
                    help="also exit 1 on layer violations and private-name imports")
    args = ap.parse_args(argv)
    if not (args.package / "__init__.py").is_file():
        ap.error(f"--package: {args.package} is not a package directory (no __init__.py)")
    result = analyse(args.package)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_report(result)
    bad = bool(result["cycles"]) or (args.strict and bool(result["layer_violations"]
                                                          or result["private_imports"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
