import sys

from apps.acs_simulator.cli import main

sys.exit(main())
