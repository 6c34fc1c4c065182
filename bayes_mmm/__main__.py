"""python -m bayes_mmm: the command line."""

from bayes_mmm.surfaces.cli import main

main()
