"""The catalogue is the one description of each optimizer: no module outside it names an optimizer, a state
variable or a hyperparameter as a string literal (lessons and scenario data excepted), and no two modules compute
the same diagnostic."""

import ast
from pathlib import Path

import numpy as np

import optviz
from optviz.optimizers import ROLES

PACKAGE = Path(optviz.__file__).resolve().parent
CATALOGUE = {"optimizers.py", "params.py", "registry.py",  # the catalogue itself
             "second_order.py", "lbfgs.py", "whole_vector.py"}  # and its optimizers that are not element-wise
SCENARIO_DATA = {"scenarios.py", "mnist/defaults.py"}  # lessons and the frameworks' documented presets


def _names() -> dict[str, str]:
    """Every optimizer, hyperparameter and state name of the catalogue -> what it is."""
    names = {}
    # the optimizers that are not element-wise by their names only: their own hyperparameters (d, k, inner,
    # damping, adaptive) are words too common to flag, and no module outside the catalogue reads them
    names.update({name: "optimizer" for name in optviz.STEPPED_OPTIMIZERS})
    for spec in optviz.OPTIMIZERS.values():
        names[spec.name] = "optimizer"
        if spec.name in optviz.STEPPED_OPTIMIZERS:
            continue
        names.update({p.name: "hyperparameter" for p in spec.params})
        states = spec.state + (spec.variant[3] if spec.variant else ())
        names.update({s: "state variable" for s in states})
    return names


def _literal_uses(tree: ast.AST, names: dict[str, str]):
    """(line, name) of string literals equal to a catalogue name. A one-letter state name (m, v, s, u) is too
    common a string to flag everywhere: it counts where it indexes something, is looked up or compared."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names):
            continue
        if isinstance(parents.get(node), ast.JoinedStr) or _names_a_parameter_of_its_own(node, parents):
            continue  # a piece of an f-string (f"r{i}"), or a schedule's Param("step_size", …) named like a state
        if len(node.value) > 1 or names[node.value] != "state variable" or _looked_up(node, parents):
            yield node.lineno, node.value


def _names_a_parameter_of_its_own(node: ast.AST, parents: dict) -> bool:
    """The name given to a Param another catalogue defines (a schedule's step_size): Param(name, …) or a helper
    that builds one (_steps_param(name, …))."""
    call = parents.get(node)
    return (isinstance(call, ast.Call) and bool(call.args) and call.args[0] is node
            and getattr(call.func, "id", getattr(call.func, "attr", "")).lower().endswith("param"))


def _looked_up(node: ast.AST, parents: dict) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return True
    if isinstance(parent, (ast.Compare, ast.Dict)):
        return True
    if isinstance(parent, ast.Tuple) and isinstance(parents.get(parent), ast.Compare):
        return True
    return isinstance(parent, ast.Call) and getattr(parent.func, "attr", getattr(parent.func, "id", "")) in (
        "get", "getattr", "pop", "setdefault")


def test_no_module_outside_the_catalogue_names_an_optimizer_a_state_or_a_hyperparameter():
    names = _names()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in CATALOGUE | SCENARIO_DATA:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{relative}:{line} names the {names[name]} {name!r}" for line, name in _literal_uses(tree, names)]
    assert not found, "\n".join(found)


def test_the_check_finds_a_name_where_one_is_written():
    names = _names()
    source = 'x = trace["m"]\nif name == "adam": pass\nlabel = "m"\nh.get("beta1")\nf"r{i}"\nParam("lr", 1)\n'
    assert [name for _, name in _literal_uses(ast.parse(source), names)] == ["m", "adam", "beta1"]


def test_every_diagnostic_is_computed_in_one_place():
    """The Adam family's diagnostics (bias corrections, m̂, v̂, the effective step) are the catalogue's: no other
    module works out 1 − β1ᵗ or divides by √v̂ itself."""
    suspects = ("beta1 **", "beta2 **", "(1 - beta1) *", "np.sqrt(v_hat")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in CATALOGUE:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if any(s in code for s in suspects) and not code.lstrip().startswith(('"', "'")):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_every_state_variable_has_a_role():
    for spec in optviz.OPTIMIZERS.values():
        for name in spec.state + (spec.variant[3] if spec.variant else ()):
            assert spec.role_of(name) in ROLES, (spec.name, name)


def _cie_lab(color: str) -> np.ndarray:
    """A #rrggbb colour in CIE L*a*b* (sRGB, D65): where a difference of about 2.3 is just noticeable."""
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / [0.95047, 1.0, 1.08883], 0.008856))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_two_optimizers_are_told_apart_by_colour_and_every_path_shows_on_the_pale_map():
    labs = {name: _cie_lab(spec.color) for name, spec in optviz.OPTIMIZERS.items()}
    names = list(labs)
    close = [(a, b) for k, a in enumerate(names) for b in names[k + 1:] if np.linalg.norm(labs[a] - labs[b]) < 15]
    assert close == []  # ΔE*76 < 15: two racers a class would mistake for each other (L-BFGS and schedule-free AdamW)
    assert [name for name, lab in labs.items() if lab[0] > 75] == []  # lighter: lost on the map's light shades
