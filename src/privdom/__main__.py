from privdom.cli.main import run

if __name__ == "__main__":  # not when imported (by a tool, or a process that only wants privdom)
    run()
