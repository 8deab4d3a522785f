import sys

from .prestart import prestart_walker

prestart_walker(sys.argv[1:])       # before the imports of the module itself
from .meter import main  # noqa: E402

main()
