"""A log line says which module wrote it (emulator_log.log)."""

import emulator_log


def test_a_log_line_names_the_module_that_wrote_it(capsys):
    emulator_log.log("hello")
    assert capsys.readouterr().err == "[test_emulator_log] hello\n"
