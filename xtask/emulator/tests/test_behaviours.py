"""The registry of behaviours against the code, the tests and the README."""

import ast
import pathlib
import re

import pytest

import behaviours

EMULATOR = pathlib.Path(__file__).resolve().parents[1]
ROOT = EMULATOR.parents[1]


def switches_in(source: str) -> set[str]:
    """The behaviours a module's source switches: every call ``on("name")`` or
    ``behaviours.on('name')``, whatever the quotes (read from the syntax tree, not
    the text)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called_on = (isinstance(func, ast.Name) and func.id == "on") or (
            isinstance(func, ast.Attribute)
            and func.attr == "on"
            and isinstance(func.value, ast.Name)
            and func.value.id == "behaviours"
        )
        first = node.args[0]
        if called_on and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


@pytest.mark.parametrize(
    "source, expected",
    [
        ('if on("kms-key-state"):\n    pass\n', {"kms-key-state"}),
        ("if on('kms-key-state'):\n    pass\n", {"kms-key-state"}),
        ('import behaviours\nif behaviours.on("lambda-logs"):\n    pass\n', {"lambda-logs"}),
        ("x = behaviours.on(\n    'iam-conditions'\n)\n", {"iam-conditions"}),
        ('other.on("not-a-switch")\nturn_on("nor-this")\ntext = \'on("nor-this")\'\n', set()),
    ],
)
def test_every_form_of_a_switch_is_found(source, expected):
    assert switches_in(source) == expected


def module_switches() -> dict[str, set[str]]:
    """Each module's switched behaviours, by module name (behaviours.py, the registry, aside)."""
    return {
        source.stem: switches_in(source.read_text())
        for source in EMULATOR.glob("*.py")
        if source.name != "behaviours.py"
    }


def switches_used() -> set[str]:
    return set().union(*module_switches().values())


def test_every_switch_in_the_code_is_registered_and_every_registered_one_is_used():
    used = switches_used()
    assert used - behaviours.BY_NAME.keys() == set(), "switches the registry lacks"
    assert behaviours.BY_NAME.keys() - used == set(), "registered behaviours no code switches"


def test_every_fidelity_test_exists():
    for behaviour in behaviours.REGISTRY:
        area, name = behaviour.test.split("::")
        source = (ROOT / "tests" / "tests" / "it" / f"{area}.rs").read_text()
        assert re.search(rf"\basync fn {name}\(|\bfn {name}\(", source), behaviour.test


def test_the_readme_table_is_the_registry():
    readme = (ROOT / "README.md").read_text()
    assert behaviours.markdown_table() in readme, (
        "README.md's table of behaviours differs from behaviours.REGISTRY; paste:\n" + behaviours.markdown_table()
    )


def test_names_are_unique_and_switch_shaped():
    names = [b.name for b in behaviours.REGISTRY]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)


# The HTTP layer and the launcher route requests and installs to the behaviours'
# modules; their switches are not where a behaviour is implemented.
ROUTERS = {"strict", "launcher"}


def switching_modules(name: str) -> set[str]:
    return {module for module, names in module_switches().items() if name in names}


def test_every_behaviour_names_its_modules_and_the_first_one_speaks_of_it():
    for behaviour in behaviours.REGISTRY:
        assert behaviour.modules, f"{behaviour.name}: no module named"
        for module in behaviour.modules:
            assert (EMULATOR / f"{module}.py").is_file(), f"{behaviour.name}: no module {module}.py"
        first = (EMULATOR / f"{behaviour.modules[0]}.py").read_text()
        assert re.search(rf"[`\"']{re.escape(behaviour.name)}[`\"']", first), (
            f"{behaviour.modules[0]}.py, the first module of {behaviour.name}, never names it"
        )


def test_every_module_that_switches_a_behaviour_is_one_of_its_modules():
    for behaviour in behaviours.REGISTRY:
        unlisted = switching_modules(behaviour.name) - set(behaviour.modules) - ROUTERS
        assert unlisted == set(), f"{behaviour.name} is switched in {sorted(unlisted)}, which its modules do not list"
