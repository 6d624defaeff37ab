"""`python -m qbo_emulator`: the same command as `flask qbo emulator`."""

from qbo_emulator.cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="python -m qbo_emulator")
