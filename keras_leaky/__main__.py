"""Command line: `python -m keras_leaky demo`."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keras_leaky")
    parser.add_argument("command", choices=["demo"], help="demo: train, save, reload, compare")
    parser.parse_args(argv)
    # TensorFlow's C++ start-up log is already filtered (`keras_leaky._quiet`).
    from keras_leaky import demo

    return demo.main()


if __name__ == "__main__":
    sys.exit(main())
