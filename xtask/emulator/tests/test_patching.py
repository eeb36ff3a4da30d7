"""patching.replace: a patch names what it replaces, and refuses what is not there."""

import types

import pytest

import patching


class Owner:
    def method(self):
        return "original"

    @property
    def value(self):
        return 1

    constant = 3


def test_replace_returns_the_original_and_installs_the_replacement():
    class Local(Owner):
        pass

    original = patching.replace(Local, "method", lambda self: "patched")
    assert original is Owner.method
    assert Local().method() == "patched"


def test_a_missing_attribute_is_refused_naming_owner_and_name():
    with pytest.raises(RuntimeError, match=r"test_patching\.Owner\.gone: it does not exist"):
        patching.replace(Owner, "gone", lambda self: None)
    assert not hasattr(Owner, "gone")


def test_an_attribute_that_is_not_callable_is_refused():
    with pytest.raises(RuntimeError, match=r"Owner\.constant: it holds a int value, not a method"):
        patching.replace(Owner, "constant", lambda self: None)
    assert Owner.constant == 3


def test_a_property_is_replaced_by_a_property_only():
    class Local(Owner):
        pass

    with pytest.raises(RuntimeError, match=r"Local\.value: it is a property"):
        patching.replace(Local, "value", lambda self: 2)
    original = patching.replace(Local, "value", property(lambda self: 2))
    assert isinstance(original, property)
    assert Local().value == 2


def test_a_module_attribute_is_named_by_its_module():
    module = types.ModuleType("fake.server")
    module.main = lambda argv: None
    with pytest.raises(RuntimeError, match=r"fake\.server\.missing: it does not exist"):
        patching.replace(module, "missing", print)
    original = patching.replace(module, "main", print)
    assert module.main is print and callable(original)


def test_the_installed_moto_is_the_one_the_patches_were_written_for(monkeypatch):
    import moto

    patching.check_moto_version()
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=r"moto 5\.2\.5's .*moto 9\.9\.9 is installed"):
        patching.check_moto_version()


def test_a_hook_moto_lacks_is_added_and_one_it_has_is_refused():
    class Response:
        def existing(self):
            return "moto's"

    patching.add(Response, "hook", lambda self: "added")
    assert Response().hook() == "added"
    with pytest.raises(RuntimeError, match=r"Response\.existing.*defines it already"):
        patching.add(Response, "existing", lambda self: "ours")
