"""The emulator's modules are imported by name, as the launcher imports them."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
