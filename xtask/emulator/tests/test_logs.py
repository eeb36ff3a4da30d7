"""A log line says which module wrote it (logs.log)."""

import logs


def test_a_log_line_names_the_module_that_wrote_it(capsys):
    logs.log("hello")
    assert capsys.readouterr().err == "[test_logs] hello\n"
