"""``python -m enterprise_sqs.server`` is ``esqs serve``."""

from enterprise_sqs.cli.serve import serve_command

serve_command(prog_name="esqs serve")
