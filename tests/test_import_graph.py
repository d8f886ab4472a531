"""The package's modules import each other without a circle: a module's imports (at module level or deferred into a
function, which still runs them) never lead back to it. A circle makes the import order matter and hides which
module depends on which."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "social_mae_hf"


def package_modules(package: Path) -> dict[str, Path]:
    return {module_name(path, package): path for path in package.rglob("*.py")}


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports_of(tree: ast.Module):
    """Every import statement that runs, at module level or in a function; not those under `if TYPE_CHECKING:`."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        children = node.orelse if is_type_checking(node) else ast.iter_child_nodes(node)
        pending.extend(children)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (`from .a import b` names the submodule `a.b` when there is one)."""
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in imports_of(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                targets.add(submodule if submodule in modules else target)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_checker_finds_a_circle_through_a_deferred_import(tmp_path):
    package = tmp_path / "social_mae_hf"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def later():\n    from ..c import thing\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import d\nimport social_mae_hf.a\n"
    )
    (package / "d.py").write_text("from . import c\n")
    assert cycles(import_graph(package_modules(package))) == [
        ["social_mae_hf.a", "social_mae_hf.c", "social_mae_hf.sub.b"]
    ]


def test_the_package_has_no_import_circle():
    graph = import_graph(package_modules(PACKAGE))
    assert graph["social_mae_hf.auto"] >= {
        "social_mae_hf.configuration_social_mae",
        "social_mae_hf.modeling_social_mae",
    }
    found = cycles(graph)
    assert not found, "import circles:\n" + "\n".join(
        " <-> ".join(f"{m} (imports {sorted(graph[m] & set(c))})" for m in c) for c in found
    )
