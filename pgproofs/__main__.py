import sys

from pgproofs.cli import main

sys.exit(main())
