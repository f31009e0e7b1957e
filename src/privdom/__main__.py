from privdom.cli.main import run

run()
